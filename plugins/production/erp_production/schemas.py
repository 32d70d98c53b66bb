"""Pydantic v2 request and response models of the production API (quantities are decimals)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Qty = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]
PositiveQty = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
Pct = Annotated[Decimal, Field(ge=0, le=1000, max_digits=7, decimal_places=4)]
Department = Literal["Cutting", "Embroidery", "Subcon", "Sewing", "Finishing", "Packing"]
Routing = Literal["route1", "route2", "route3"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- BOMs -----------------------------------------------------------------------------------------


class BomVariantIn(_In):
    """An alternative material (with its own quantity or a share of the line) or an optional one."""

    kind: Literal["alternative", "optional"]
    component_id: int
    quantity: PositiveQty | None = None
    share_pct: Annotated[Decimal, Field(gt=0, lt=100, max_digits=7, decimal_places=4)] | None = None


class BomLineIn(_In):
    """A component, its quantity per BOM output and its wastage percent."""

    component_id: int
    quantity: PositiveQty
    wastage_pct: Pct = Decimal(0)
    variants: list[BomVariantIn] = Field(default_factory=list)


class BomIn(_In):
    """A BOM of one product at one department step."""

    product_id: int
    department: Department
    revision: str = Field(min_length=1, max_length=20)
    output_qty: PositiveQty = Decimal(1)
    active: bool = True
    note: str | None = Field(default=None, max_length=500)
    lines: list[BomLineIn] = Field(min_length=1)


class BomVariantOut(_Out):
    """A stored variant."""

    id: int
    kind: str
    component_id: int
    quantity: Decimal | None
    share_pct: Decimal | None


class BomLineOut(_Out):
    """A stored BOM line."""

    id: int
    line_no: int
    component_id: int
    quantity: Decimal
    wastage_pct: Decimal
    variants: list[BomVariantOut] = Field(default_factory=list)


class BomOut(_Out):
    """A BOM with its lines."""

    id: int
    product_id: int
    department: str
    revision: str
    output_qty: Decimal
    active: bool
    note: str | None
    created_at: datetime
    lines: list[BomLineOut] = Field(default_factory=list)


class ExplodedLineOut(BaseModel):
    """One row of a BOM explosion: a material (or WIP) needed at some level."""

    level: int
    product_id: int
    department: str
    quantity: Decimal
    has_bom: bool


class ExplosionOut(BaseModel):
    """A multi-level explosion and the leaf materials totalled."""

    product_id: int
    quantity: Decimal
    lines: list[ExplodedLineOut]
    totals: dict[int, Decimal]


# --- MOs and SPKs -----------------------------------------------------------------------------------


class MoIn(_In):
    """A manufacturing order to create (Draft)."""

    product_id: int
    quantity: PositiveQty
    routing: Routing
    batch_number: str = Field(min_length=1, max_length=60)
    week: str | None = Field(default=None, pattern=r"^W\d{2}-\d{4}$")
    destination: str | None = Field(default=None, max_length=60)
    planned_start: date | None = None
    planned_end: date | None = None


class ReleaseIn(_In):
    """How far to release: ``partial`` (first departments) or ``full`` (all)."""

    level: Literal["partial", "full"] = "full"


class MoOut(_Out):
    """A manufacturing order."""

    id: int
    number: str
    product_id: int
    quantity: Decimal
    routing: str
    batch_number: str
    week: str | None
    destination: str | None
    planned_start: date | None
    planned_end: date | None
    state: str
    release_level: str | None
    created_at: datetime
    released_at: datetime | None


class SpkCreateIn(_In):
    """Create the SPK of one department of a released MO (target defaults to the buffered quantity)."""

    mo_id: int
    department: Department
    target: PositiveQty | None = None
    deadline: date | None = None
    notes: str | None = Field(default=None, max_length=1000)


class SpkOut(_Out):
    """An SPK."""

    id: int
    number: str
    mo_id: int
    department: str
    sequence: int
    bom_id: int
    product_id: int
    input_product_id: int | None
    store_location_id: int
    target: Decimal
    deadline: date | None
    notes: str | None
    state: str
    started_at: datetime | None
    completed_at: datetime | None


class SpkEditIn(_In):
    """An edit to submit for approval; at least one field besides ``reason``."""

    target: PositiveQty | None = None
    deadline: date | None = None
    notes: str | None = Field(default=None, max_length=1000)
    product_id: int | None = None
    reason: str | None = Field(default=None, max_length=500)


class SpkEditOut(_Out):
    """A requested SPK edit."""

    id: int
    spk_id: int
    changes: dict[str, dict[str, str | None]]
    reason: str | None
    state: str
    approval_request_id: int | None
    requested_by: str | None
    requested_at: datetime
    decided_by: int | None
    applied_at: datetime | None


class DeliverIn(_In):
    """WIP to hand to the next department's SPK (a warehouse transfer)."""

    quantity: PositiveQty


class TransferOut(BaseModel):
    """The transfer created."""

    id: int
    number: str
    product_id: int
    from_location_id: int
    to_location_id: int
    sent_qty: Decimal
    reference: str | None
    state: str


# --- daily input and progress --------------------------------------------------------------------


class DailyInputIn(_In):
    """One day's output of an SPK (a second post for the same date corrects it)."""

    work_date: date
    good: Qty
    defect: Qty = Decimal(0)
    rework: Qty = Decimal(0)


class DailyInputOut(_Out):
    """A stored daily input."""

    id: int
    spk_id: int
    work_date: date
    good: Decimal
    defect: Decimal
    rework: Decimal
    entered_by: str | None
    corrections: int
    updated_at: datetime


class DayOut(BaseModel):
    """Output of one day with running totals."""

    work_date: date
    good: Decimal
    defect: Decimal
    rework: Decimal
    cumulative_good: Decimal


class MaterialProgressOut(BaseModel):
    """One material of an SPK: required, allocated, consumed and owed."""

    product_id: int
    required: Decimal
    allocated: Decimal
    reserved_open: Decimal
    consumed: Decimal
    debt: Decimal


class ProgressOut(BaseModel):
    """Progress of an SPK."""

    spk_id: int
    state: str
    target: Decimal
    good: Decimal
    defect: Decimal
    rework: Decimal
    possible: Decimal
    percent_done: Decimal
    days: list[DayOut]
    materials: list[MaterialProgressOut]


# --- allocation --------------------------------------------------------------------------------------


class AllocateIn(_In):
    """Which SPK to allocate materials for; ``dry_run`` previews without reserving."""

    spk_id: int
    dry_run: bool = False


class AllocationLineOut(BaseModel):
    """One material: what the SPK needs, what is already covered, what is reserved now, what is short."""

    product_id: int
    required: Decimal
    covered_before: Decimal
    reserved_now: Decimal
    shortage: Decimal
    lots: list[dict[str, Decimal | int | None]]


class AllocationOut(BaseModel):
    """The result of an allocation (or its preview)."""

    spk_id: int
    dry_run: bool
    lines: list[AllocationLineOut]


# --- material debt ---------------------------------------------------------------------------------


class SettlementOut(_Out):
    """A settlement of a debt from a receipt."""

    id: int
    debt_id: int
    receipt_id: int
    move_id: int
    quantity: Decimal
    created_at: datetime


class DebtOut(_Out):
    """A material debt."""

    id: int
    spk_id: int
    department: str
    product_id: int
    location_id: int
    lot_id: int | None
    quantity: Decimal
    settled_qty: Decimal
    unit_value: Decimal
    state: str
    approval_request_id: int | None
    created_at: datetime
    settled_at: datetime | None
    settlements: list[SettlementOut] = Field(default_factory=list)


# --- reports -----------------------------------------------------------------------------------------


class SummaryRowOut(BaseModel):
    """One group of the production summary."""

    key: str
    department: str | None
    good: Decimal
    defect: Decimal
    rework: Decimal
    yield_pct: Decimal | None


class SummaryOut(BaseModel):
    """The production summary."""

    group_by: str
    date_from: date | None
    date_to: date | None
    rows: list[SummaryRowOut]
