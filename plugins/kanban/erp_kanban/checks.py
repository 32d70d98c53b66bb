"""Consistency checks of the kanban plugin (run by ``erp check``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_kanban.models import OPEN_STATES, BoardColumn, Card


def cards_agree_with_their_columns(session: Session) -> Iterable[str]:
    """A card in a column mapped to a state is in that state; open cards are on a column of their board;
    closed-off cards (rejected, cancelled) are on none; a completed replenishment card has its move."""
    stmt = select(
        Card.number,
        Card.state,
        Card.kind,
        Card.move_id,
        BoardColumn.board_id,
        BoardColumn.state,
        Card.board_id,
    ).outerjoin(BoardColumn, BoardColumn.id == Card.column_id)
    for number, state, kind, move_id, column_board, column_state, board_id in session.execute(stmt).tuples():
        if column_board is not None and column_board != board_id:
            yield f"card {number} sits in a column of another board"
        if column_state is not None and column_state != state:
            yield f"card {number} is {state} but sits in the {column_state} column"
        if state in OPEN_STATES and column_board is None:
            yield f"card {number} is {state} but on no column"
        if state in ("rejected", "cancelled") and column_board is not None:
            yield f"card {number} is {state} but still on the board"
        if kind == "replenishment" and state == "completed" and move_id is None:
            yield f"card {number} is completed without a stock move"


CHECKS = [cards_agree_with_their_columns]
