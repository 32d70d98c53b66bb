"""Pydantic v2 request and response models of the PPIC API (quantities are decimals)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

PositiveQty = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
Week = Annotated[str, Field(pattern=r"^W(0[1-9]|[1-4]\d|5[0-3])-\d{4}$", examples=["W05-2026"])]
Routing = Literal["route1", "route2", "route3"]
PoRole = Literal["fabric", "label"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- sales orders ---------------------------------------------------------------------------------


class SoLineIn(_In):
    """A finished good and the ordered quantity."""

    product_id: int
    quantity: PositiveQty


class SoIn(_In):
    """A buyer's order to record (Draft)."""

    buyer_po_number: str = Field(min_length=1, max_length=60)
    customer_id: int
    order_date: date
    delivery_week: Week
    destination: str = Field(min_length=1, max_length=60)
    note: str | None = Field(default=None, max_length=500)
    lines: list[SoLineIn] = Field(min_length=1, max_length=500)


class SoLineOut(_Out):
    """A line with what is planned (MO quantities) and produced (final SPK good output) of it."""

    id: int
    line_no: int
    product_id: int
    quantity: Decimal
    planned: Decimal = Decimal(0)
    produced: Decimal = Decimal(0)
    remaining_to_plan: Decimal = Decimal(0)
    mo_ids: list[int] = Field(default_factory=list)


class SoOut(_Out):
    """A sales order with its lines."""

    id: int
    buyer_po_number: str
    customer_id: int
    order_date: date
    delivery_week: str
    destination: str
    state: str
    note: str | None
    created_by: str | None
    created_at: datetime
    confirmed_at: datetime | None
    closed_at: datetime | None
    lines: list[SoLineOut] = Field(default_factory=list)


# --- manufacturing orders -------------------------------------------------------------------------


class PoLinkIn(_In):
    """A purchase order an MO waits for: its fabric or its label."""

    po_id: int
    role: PoRole


class PlanMoIn(_In):
    """An MO to plan from a sales order line (week and destination default to the order's)."""

    so_line_id: int
    quantity: PositiveQty
    routing: Routing
    batch_number: str = Field(min_length=1, max_length=60)
    week: Week | None = None
    destination: str | None = Field(default=None, max_length=60)
    planned_start: date | None = None
    planned_end: date | None = None
    allow_over_plan: bool = False
    purchase_orders: list[PoLinkIn] = Field(default_factory=list, max_length=50)


class ReleaseMoIn(_In):
    """``level`` omitted: what the linked POs' receipts allow; given: that level (``force`` overrides
    the receipt check)."""

    level: Literal["partial", "full"] | None = None
    force: bool = False


class PoLinkOut(_Out):
    """A linked purchase order and whether goods were received against it."""

    po_id: int
    number: str
    po_type: str
    role: str
    state: str
    received: bool


class PlannedMoOut(BaseModel):
    """An MO planned by PPIC: production's MO plus its sales order line and linked POs."""

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
    so_line_id: int | None
    sales_order_id: int | None
    over_plan: bool
    schedule_locked: bool
    purchase_orders: list[PoLinkOut]


class ReleaseOut(BaseModel):
    """The outcome of a release: the MO and the SPKs this release created."""

    mo: PlannedMoOut
    level: str
    spk_ids: list[int]


class MaterialShortOut(BaseModel):
    """A material an SPK's remaining work needs beyond its reservations and its store's free stock."""

    product_id: int
    needed: Decimal
    reserved: Decimal
    free_in_store: Decimal
    short: Decimal


class DepartmentProgressOut(BaseModel):
    """One department of the MO's routing."""

    department: str
    sequence: int
    spk_id: int | None
    spk_number: str | None
    state: str
    target: Decimal | None
    good: Decimal
    defect: Decimal
    rework: Decimal
    percent_done: Decimal | None
    deadline: date | None
    schedule: Literal["late", "on_track", "not_released"]
    materials_short: list[MaterialShortOut]
    debt_open: Decimal


class MoProgressOut(BaseModel):
    """Where an MO stands, department by department."""

    mo: PlannedMoOut
    today: date
    produced: Decimal
    percent_done: Decimal
    late: bool
    departments: list[DepartmentProgressOut]
    debt_open: Decimal


# --- reports --------------------------------------------------------------------------------------


class WeeklyRowOut(BaseModel):
    """Production of one planning week at one department."""

    week: str
    department: str
    mos: int
    planned: Decimal
    good: Decimal
    defect: Decimal
    rework: Decimal
    yield_pct: Decimal | None
    spks: int
    completed: int
    on_time: int
    on_time_pct: Decimal | None


class WeeklyReportOut(BaseModel):
    """The weekly production report."""

    rows: list[WeeklyRowOut]


class ShortageOut(BaseModel):
    """A material that runs short in a week, and what to buy from whom."""

    product_id: int
    product_code: str
    week: str
    required: Decimal
    available_before: Decimal
    incoming: Decimal
    shortage: Decimal
    suggested_qty: Decimal
    supplier_id: int | None
    supplier: str


class SupplierGroupOut(BaseModel):
    """The suggested purchases of one supplier."""

    supplier_id: int | None
    supplier: str
    lines: list[ShortageOut]


class MrpOut(BaseModel):
    """Material requirements of the open MOs, netted by week."""

    mos: int
    weeks: list[str]
    materials: int
    shortages: list[ShortageOut]
    by_supplier: list[SupplierGroupOut]
