"""The events the quality plugin emits (after commit), with their payload schemas."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from kernel.events import Event


class InspectionFailed(BaseModel):
    """Payload of ``inspection_failed`` (version 1): units failed QC; quantities are decimal strings."""

    inspection_id: int
    checkpoint: str
    severity: str
    reason: str
    department: str
    spk_id: int | None = None
    batch_number: str | None = None
    product_id: int | None = None
    failed_quantity: str
    segregation_id: int | None = None


class InspectionRecorded(BaseModel):
    """Payload of ``inspection_recorded`` (version 1): an inspection was completed, passed or failed;
    quantities are decimal strings.

    ``inspected_at`` is the time the inspection counts for (it may be back-dated by the inspector),
    ``recorded_at`` when it was recorded.
    """

    inspection_id: int
    kind: str
    checkpoint: str
    status: str
    department: str
    spk_id: int | None = None
    batch_number: str | None = None
    product_id: int | None = None
    inspected: str
    passed: str
    rework: str
    scrap: str
    inspected_at: datetime
    recorded_at: datetime


class BatchReleased(BaseModel):
    """Payload of ``batch_released`` (version 1): QC released a batch for shipping."""

    batch_number: str
    pass_rate: str
    tests: int
    released_by: str | None = None


INSPECTION_FAILED = Event(
    name="inspection_failed",
    version=1,
    payload=InspectionFailed,
    description="Units failed an inspection or the metal detector (critical alerts come from here).",
)
INSPECTION_RECORDED = Event(
    name="inspection_recorded",
    version=1,
    payload=InspectionRecorded,
    description="An inline or final inspection was completed (passed or failed): QC figures changed.",
)
BATCH_RELEASED = Event(
    name="batch_released", version=1, payload=BatchReleased, description="A batch may ship."
)
