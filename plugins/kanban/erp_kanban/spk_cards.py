"""Production cards: one card per SPK on its department's board, in the column of the SPK's state.

Handlers of ``mo_released``, ``spk_started`` and ``spk_completed`` call ``sync_spk_cards``, which reads
the SPK as committed now and puts its card where that state belongs. Events may come late, twice or out
of order; the SPK's own state is the truth, so every call converges on the same card. SPK states map to
card states: not started -> Approved (released work waiting), in progress -> In progress, completed ->
Completed, cancelled -> Cancelled (off the board). These system moves ignore WIP limits (the board shows
a column over its limit) because the SPK has already changed.
"""

from __future__ import annotations

from collections.abc import Iterable

from erp_production.models import Spk
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_kanban.boards import column_for_state, department_board
from erp_kanban.cards import created, insert_card, log, snapshot
from erp_kanban.live import publish_card
from erp_kanban.models import Card
from kernel.audit import record_change
from kernel.clock import utcnow

SPK_TO_CARD = {
    "not_started": "approved",
    "in_progress": "in_progress",
    "completed": "completed",
    "cancelled": "cancelled",
}


def sync_spk_cards(session: Session, *, spk_ids: Iterable[int]) -> None:
    """Create or move the card of each SPK to match the SPK's current state."""
    for spk_id in sorted(set(spk_ids)):
        spk = session.get(Spk, spk_id)
        if spk is not None:
            sync_spk_card(session, spk=spk)


def _locked_card(session: Session, spk_id: int) -> Card | None:
    return session.scalar(
        select(Card)
        .where(Card.kind == "production", Card.spk_id == spk_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def sync_spk_card(session: Session, *, spk: Spk) -> Card:
    """The SPK's card, created or moved to the column of the SPK's state."""
    state = SPK_TO_CARD.get(spk.state, "approved")
    board = department_board(session, department=spk.department)
    column = column_for_state(session, board_id=board.id, state=state)
    column_id = column.id if column is not None and state != "cancelled" else None
    card = _locked_card(session, spk.id)
    if card is None:
        card = insert_card(
            session,
            values={
                "board_id": board.id,
                "column_id": column_id,
                "kind": "production",
                "state": state,
                "product_id": spk.product_id,
                "quantity": spk.target,
                "department": board.department,
                "store_location_id": spk.store_location_id,
                "priority": "normal",
                "needed_by": spk.deadline,
                "spk_id": spk.id,
                "mo_id": spk.mo_id,
                "note": spk.number,
            },
        )
        if card is not None:
            created(session, card, user=None, reason=f"{spk.number} is {spk.state}")
            return card
        card = _locked_card(session, spk.id)  # a concurrent handler created it: move that one
        assert card is not None
    if card.state == state and card.quantity == spk.target and card.needed_by == spk.deadline:
        return card
    old = snapshot(card)
    from_column, from_state = card.column_id, card.state
    now = utcnow()
    card.quantity, card.needed_by, card.updated_at = spk.target, spk.deadline, now
    if card.state != state:
        card.state, card.column_id = state, column_id
        if state == "completed":
            card.completed_at = card.closed_at = spk.completed_at or now
        if state == "cancelled":
            card.closed_at = now
    session.flush()
    log(
        session,
        card,
        action="sync",
        from_column_id=from_column,
        from_state=from_state,
        user=None,
        reason=f"{spk.number} is {spk.state}",
    )
    record_change(
        session, entity_type="kanban.card", entity_id=card.id, action="sync", old=old, new=snapshot(card)
    )
    publish_card(session, card, change="card_moved" if from_column != card.column_id else "card_changed")
    return card
