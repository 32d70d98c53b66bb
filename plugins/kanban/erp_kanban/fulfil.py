"""Fulfilment: completing a replenishment card moves its quantity from the warehouse to the store.

The move is posted through ``erp_warehouse.stock.post_stock_move`` in the caller's transaction, so the
card's completion and the stock move commit (or roll back) together. A source short of stock follows
warehouse's rule: ``on_stock_negative`` is asked, and when no plugin accepts the shortfall the move is
refused with 409 and nothing is written (production accepts material debt only for consumption out of
an SPK's own store, so a replenishment from the warehouse is refused today).
"""

from __future__ import annotations

from erp_warehouse.models import Location
from erp_warehouse.stock import MoveLine, post_stock_move
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_kanban.events import KanbanCardCompleted
from erp_kanban.models import Board, Card
from kernel.errors import Conflict
from kernel.events import emit
from kernel.site import site_of


def source_location(session: Session, *, card: Card) -> int:
    """Where a card's stock comes from: the card's source, its board's, else the first warehouse."""
    if card.source_location_id is not None:
        return card.source_location_id
    board = session.get_one(Board, card.board_id)
    if board.source_location_id is not None:
        return board.source_location_id
    location_id = session.scalar(
        select(Location.id)
        .where(Location.kind == "warehouse", Location.active)
        .order_by(Location.id)
        .limit(1)
    )
    if location_id is None:
        raise Conflict("no active warehouse location to fulfil cards from; create one in the warehouse")
    return location_id


def fulfil(session: Session, *, card: Card, user: str | None) -> None:
    """Post the card's stock move (source -> department store) and emit ``kanban_card_completed``."""
    if card.store_location_id is None:
        raise Conflict(f"{card.number} has no store to deliver to")
    source = source_location(session, card=card)
    posted = post_stock_move(
        session,
        hooks=site_of(session).registry.pm.hook,
        lines=[MoveLine(card.product_id, source, card.store_location_id, card.quantity)],
        reference=card.number,
        user=user,
        note=f"kanban {card.number} for {card.department}",
    )
    card.move_id = posted.move_id
    card.source_location_id = source
    session.flush()
    emit(
        session,
        "kanban_card_completed",
        KanbanCardCompleted(
            card_id=card.id,
            number=card.number,
            board_id=card.board_id,
            department=card.department,
            product_id=card.product_id,
            quantity=card.quantity,
            from_location_id=source,
            to_location_id=card.store_location_id,
            move_id=posted.move_id,
            spk_id=card.spk_id,
            completed_by=user,
        ),
        aggregate=f"kanban_card:{card.id}",
    )
