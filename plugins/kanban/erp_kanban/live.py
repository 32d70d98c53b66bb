"""Board changes pushed to WebSocket clients, after commit only (``kanban.board.<id>`` channels)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from erp_kanban.models import Card
from erp_kanban.schemas import CardOut
from kernel.realtime import get_broadcaster, publish_after_commit
from kernel.site import site_of


def board_channel(board_id: int) -> str:
    """The realtime channel of one board."""
    return f"kanban.board.{board_id}"


def publish_card(session: Session, card: Card, *, change: str, **extra: Any) -> None:
    """Queue a ``{type, card, ...}`` message on the card's board channel, sent when ``session`` commits."""
    message = {
        "type": change,
        "board_id": card.board_id,
        "card": CardOut.model_validate(card).model_dump(mode="json"),
    }
    message.update(extra)
    publish_after_commit(session, get_broadcaster(site_of(session)), board_channel(card.board_id), message)
