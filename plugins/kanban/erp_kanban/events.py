"""The events the kanban plugin emits (after commit, through the kernel's outbox)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from kernel.events import Event


class KanbanCardCompleted(BaseModel):
    """Payload of ``kanban_card_completed`` (version 1): a replenishment card was fulfilled."""

    card_id: int
    number: str
    board_id: int
    department: str
    product_id: int
    quantity: Decimal
    from_location_id: int
    to_location_id: int
    move_id: int
    spk_id: int | None
    completed_by: str | None


KANBAN_CARD_COMPLETED = Event(
    name="kanban_card_completed",
    version=1,
    payload=KanbanCardCompleted,
    description="A replenishment card was completed: its stock was moved to the department store.",
)
EVENTS = [KANBAN_CARD_COMPLETED]
