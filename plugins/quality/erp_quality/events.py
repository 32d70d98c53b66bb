"""The events the quality plugin emits (after commit), with their payload schemas."""

from __future__ import annotations

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
BATCH_RELEASED = Event(
    name="batch_released", version=1, payload=BatchReleased, description="A batch may ship."
)
