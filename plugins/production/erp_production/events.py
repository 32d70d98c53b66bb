"""The events the production plugin emits (after commit, through the kernel's outbox)."""

from __future__ import annotations

from pydantic import BaseModel

from kernel.events import Event


class SpkCompleted(BaseModel):
    """Payload of ``spk_completed`` (version 1). Quantities are decimal strings."""

    spk_id: int
    spk_number: str
    mo_id: int
    mo_number: str
    department: str
    product_id: int
    good: str
    defect: str
    rework: str
    target: str
    batch_number: str


class SpkStarted(BaseModel):
    """Payload of ``spk_started`` (version 1)."""

    spk_id: int
    spk_number: str
    mo_id: int
    department: str
    product_id: int
    target: str


class MoReleased(BaseModel):
    """Payload of ``mo_released`` (version 1): the MO, how far it is released, the SPKs created now."""

    mo_id: int
    mo_number: str
    product_id: int
    quantity: str
    batch_number: str
    level: str
    spk_ids: list[int]


SPK_COMPLETED = Event(
    name="spk_completed", version=1, payload=SpkCompleted, description="An SPK was completed."
)
SPK_STARTED = Event(name="spk_started", version=1, payload=SpkStarted, description="An SPK was started.")
MO_RELEASED = Event(name="mo_released", version=1, payload=MoReleased, description="An MO was released.")
EVENTS = [SPK_COMPLETED, SPK_STARTED, MO_RELEASED]
