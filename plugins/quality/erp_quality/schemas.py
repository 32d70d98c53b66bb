"""Request and response models of the quality API (Pydantic v2). Quantities are exact decimals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from erp_warehouse.schemas import PositiveQty, Qty
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Batch = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
DefectType = Literal["stitching", "material", "filling", "assembly", "paint", "other"]
Severity = Literal["minor", "major", "critical"]
InlineCheckpoint = Literal["after_cutting", "after_sewing", "after_finishing", "pre_packing"]
Measured = Annotated[Decimal, Field(max_digits=18, decimal_places=4)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- defect categories ---------------------------------------------------------------------------


class DefectCategoryIn(_In):
    """A new defect category."""

    code: Code
    name: Name
    defect_type: DefectType
    severity: Severity
    description: str | None = Field(default=None, max_length=2000)
    active: bool = True


class DefectCategoryPatch(_In):
    """Fields of a defect category to change (the code is its natural key and stays)."""

    name: Name | None = None
    defect_type: DefectType | None = None
    severity: Severity | None = None
    description: str | None = Field(default=None, max_length=2000)
    active: bool | None = None


class DefectCategoryOut(_Out):
    """A defect category."""

    id: int
    code: str
    name: str
    defect_type: str
    severity: str
    description: str | None
    active: bool


# --- inspections ---------------------------------------------------------------------------------


class DefectIn(_In):
    """Defective units of one category found by the inspection."""

    category_id: int
    quantity: PositiveQty
    location_on_toy: str | None = Field(default=None, max_length=60, description="e.g. left ear, back seam")
    note: str | None = Field(default=None, max_length=200)


class MetalDetectorIn(_In):
    """A metal-detector run: units checked and units that failed (failed units count as rework/scrap)."""

    checked_qty: PositiveQty
    failed_qty: Qty = Decimal(0)
    detector: str | None = Field(default=None, max_length=60)


class InspectionResultIn(_In):
    """What the inspector counted: inspected = pass + rework + scrap."""

    inspected_qty: PositiveQty
    pass_qty: Qty
    rework_qty: Qty = Decimal(0)
    scrap_qty: Qty = Decimal(0)
    defects: list[DefectIn] = Field(default_factory=list, max_length=200)
    metal_detector: MetalDetectorIn | None = None
    location_id: int | None = Field(
        default=None,
        description="Where the units are (quarantine moves start here); default: the store of the department",
    )
    inspected_at: datetime | None = None
    notes: str | None = Field(default=None, max_length=2000)


class InlineInspectionIn(InspectionResultIn):
    """An inline inspection during production, of an SPK's or a batch's output."""

    checkpoint: InlineCheckpoint
    spk_id: int | None = None
    batch_number: Batch | None = None
    department: str | None = Field(default=None, description="default: the checkpoint's department")
    product_id: int | None = None


class FinalInspectionIn(InspectionResultIn):
    """The result of a pending final inspection, named by its id or its SPK."""

    inspection_id: int | None = None
    spk_id: int | None = None


class InspectionDefectOut(_Out):
    """A defect line of an inspection."""

    id: int
    category_id: int
    quantity: Decimal
    location_on_toy: str | None
    note: str | None


class MetalDetectionOut(_Out):
    """A metal-detector run."""

    id: int
    checked_qty: Decimal
    failed_qty: Decimal
    segregation_id: int | None
    detector: str | None
    checked_at: datetime


class InspectionOut(_Out):
    """An inspection with its defects and metal-detector runs."""

    id: int
    kind: str
    checkpoint: str
    status: str
    spk_id: int | None
    mo_id: int | None
    batch_number: str | None
    department: str
    product_id: int | None
    location_id: int | None
    expected_qty: Decimal | None
    inspected_qty: Decimal
    pass_qty: Decimal
    rework_qty: Decimal
    scrap_qty: Decimal
    inspector: str | None
    inspected_at: datetime | None
    notes: str | None
    created_at: datetime
    defects: list[InspectionDefectOut]
    metal_checks: list[MetalDetectionOut]


# --- lab -------------------------------------------------------------------------------------------


class LabTestTypeIn(_In):
    """A configurable lab test with its limit (min and/or max, inclusive)."""

    code: Code
    name: Name
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    standard: str | None = Field(default=None, max_length=60)
    min_value: Measured | None = None
    max_value: Measured | None = None
    active: bool = True


class LabTestTypePatch(_In):
    """Fields of a lab test type to change."""

    name: Name | None = None
    standard: str | None = Field(default=None, max_length=60)
    min_value: Measured | None = None
    max_value: Measured | None = None
    active: bool | None = None


class LabTestTypeOut(_Out):
    """A lab test type."""

    id: int
    code: str
    name: str
    unit: str
    standard: str | None
    min_value: Decimal | None
    max_value: Decimal | None
    active: bool


class LabTestIn(_In):
    """A lab test result of a batch; a failure needs an evidence attachment reference."""

    batch_number: Batch
    test_type_id: int
    measured_value: Measured
    unit: str | None = Field(default=None, max_length=20, description="must be the test type's unit")
    standard: str | None = Field(default=None, max_length=60, description="default: the test type's")
    spk_id: int | None = None
    product_id: int | None = None
    evidence_ref: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, max_length=2000)


class LabTestOut(_Out):
    """A recorded lab test."""

    id: int
    batch_number: str
    test_type_id: int
    spk_id: int | None
    product_id: int | None
    measured_value: Decimal
    unit: str
    standard: str | None
    min_value: Decimal | None
    max_value: Decimal | None
    passed: bool
    evidence_ref: str | None
    notes: str | None
    tested_by: str | None
    tested_at: datetime


class BatchResultsOut(BaseModel):
    """A batch's lab results: pass rate, band and whether it may ship."""

    batch_number: str
    tests: int
    passed: int
    failed: int
    pass_rate: Decimal | None
    band: Literal["good", "warning", "critical"] | None
    may_ship: bool
    released: bool
    released_at: datetime | None
    results: list[LabTestOut]


# --- segregation -----------------------------------------------------------------------------------


class SegregationIn(_In):
    """Failed or suspect units to move into quarantine."""

    product_id: int
    from_location_id: int
    quantity: PositiveQty
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    lot_id: int | None = None
    department: str | None = Field(default=None, description="default: the source location's department")
    inspection_id: int | None = None
    spk_id: int | None = None
    batch_number: Batch | None = None


class SegregationCloseIn(_In):
    """A note on acknowledging, releasing or scrapping."""

    note: str | None = Field(default=None, max_length=300)


class SegregationOut(_Out):
    """Units in (or out of) quarantine."""

    id: int
    status: str
    source: str
    reason: str
    department: str
    product_id: int
    lot_id: int | None
    quantity: Decimal
    from_location_id: int
    quarantine_location_id: int
    inspection_id: int | None
    spk_id: int | None
    batch_number: str | None
    quarantine_move_id: int | None
    close_move_id: int | None
    created_by: str | None
    created_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    resolution_note: str | None


# --- reports ---------------------------------------------------------------------------------------


class ParetoRow(BaseModel):
    """Defects of one key (category, department, product or period), largest first."""

    key: str
    label: str
    quantity: Decimal
    share: Decimal
    cumulative_share: Decimal


class YieldRow(BaseModel):
    """Inspection outcome of one department."""

    department: str
    inspections: int
    inspected: Decimal
    passed: Decimal
    rework: Decimal
    scrap: Decimal
    pass_rate: Decimal | None
    first_pass_yield: Decimal | None


class DefectAnalysisOut(BaseModel):
    """The defect analysis over completed inspections of a period."""

    filters: dict[str, Any]
    total_defects: Decimal
    by_category: list[ParetoRow]
    by_department: list[ParetoRow]
    by_product: list[ParetoRow]
    by_period: list[ParetoRow]
    yields: list[YieldRow]
