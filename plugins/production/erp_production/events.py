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


class DailyInputPosted(BaseModel):
    """Payload of ``daily_input_posted`` (version 1): one SPK's output of one day was entered or corrected.

    ``good``, ``defect`` and ``rework`` are the entry's values after the change (decimal strings);
    ``corrected`` says whether an earlier entry of that day was edited.
    """

    daily_input_id: int
    spk_id: int
    spk_number: str
    mo_id: int
    department: str
    work_date: str
    good: str
    defect: str
    rework: str
    corrected: bool


SPK_COMPLETED = Event(
    name="spk_completed", version=1, payload=SpkCompleted, description="An SPK was completed."
)
SPK_STARTED = Event(name="spk_started", version=1, payload=SpkStarted, description="An SPK was started.")
MO_RELEASED = Event(name="mo_released", version=1, payload=MoReleased, description="An MO was released.")
DAILY_INPUT_POSTED = Event(
    name="daily_input_posted",
    version=1,
    payload=DailyInputPosted,
    description="A daily production input was entered or corrected.",
)
EVENTS = [SPK_COMPLETED, SPK_STARTED, MO_RELEASED, DAILY_INPUT_POSTED]
