"""Pydantic v2 request and response models of the warehouse plugin.

Master-data input models are used both by the routes and by the CSV import, so a row of a file is
validated by exactly the rules a form is.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from erp_warehouse.quantities import check_quantity


def _qty(value: Decimal) -> Decimal:
    return check_quantity(value)


def _positive_qty(value: Decimal) -> Decimal:
    return check_quantity(value, positive=True)


Qty = Annotated[Decimal, AfterValidator(_qty)]
"""A quantity >= 0 with at most four decimal places."""
PositiveQty = Annotated[Decimal, AfterValidator(_positive_qty)]
"""A quantity > 0 with at most four decimal places."""
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Week = Annotated[str, StringConstraints(pattern=r"^W(0[1-9]|[1-4][0-9]|5[0-3])-20[0-9]{2}$")]

ProductType = Literal["raw_material", "auxiliary", "wip", "finished_good", "service"]
PartnerKind = Literal["customer", "supplier", "subcontractor"]
LocationKind = Literal[
    "view", "warehouse", "store", "quarantine", "transit", "supplier", "customer", "production", "scrap"
]
PoType = Literal["fabric", "label", "accessories"]


class Strict(BaseModel):
    """Unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """Response models read ORM objects."""

    model_config = ConfigDict(from_attributes=True)


# --- master data ---------------------------------------------------------------------------------


class UnitIn(Strict):
    """A unit of measure."""

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    name: Name
    active: bool = True


class UnitOut(Out):
    """A unit of measure."""

    id: int
    code: str
    name: str
    active: bool


class UnitConversionIn(Strict):
    """``1 from_unit = factor to_unit`` (for one product when ``product_id`` is set)."""

    from_unit_id: int
    to_unit_id: int
    factor: PositiveQty
    product_id: int | None = None


class UnitConversionOut(Out):
    """A unit conversion."""

    id: int
    from_unit_id: int
    to_unit_id: int
    factor: Decimal
    product_id: int | None


class CategoryIn(Strict):
    """A product category."""

    code: Code
    name: Name
    active: bool = True


class CategoryOut(Out):
    """A product category."""

    id: int
    code: str
    name: str
    active: bool


class ProductIn(Strict):
    """A product."""

    code: Code
    name: Name
    type: ProductType
    unit_id: int
    category_id: int | None = None
    min_stock: Qty = Decimal(0)
    pcs_per_carton: int | None = Field(default=None, gt=0)
    cartons_per_pallet: int | None = Field(default=None, gt=0)
    active: bool = True


class ProductOut(Out):
    """A product."""

    id: int
    code: str
    name: str
    type: str
    unit_id: int
    category_id: int | None
    min_stock: Decimal
    pcs_per_carton: int | None
    cartons_per_pallet: int | None
    active: bool


class PartnerIn(Strict):
    """A customer, supplier or subcontractor."""

    code: Code
    name: Name
    kind: PartnerKind
    active: bool = True


class PartnerOut(Out):
    """A partner."""

    id: int
    code: str
    name: str
    kind: str
    active: bool


class LocationIn(Strict):
    """A location of the tree."""

    code: Code
    name: Name
    kind: LocationKind
    parent_id: int | None = None
    department: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    active: bool = True


class LocationOut(Out):
    """A location."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    department: str | None
    active: bool


class LotIn(Strict):
    """A lot (fabric roll, material batch)."""

    code: Code
    product_id: int
    supplier_id: int | None = None
    purchase_order_id: int | None = None
    received_qty: Qty = Decimal(0)
    received_at: datetime | None = None
    expires_on: date | None = None
    active: bool = True


class LotOut(Out):
    """A lot."""

    id: int
    code: str
    product_id: int
    supplier_id: int | None
    purchase_order_id: int | None
    received_qty: Decimal
    received_at: datetime | None
    expires_on: date | None
    active: bool


class ImportResult(BaseModel):
    """What a CSV import did."""

    created: int
    updated: int


# --- stock ---------------------------------------------------------------------------------------


class MoveLineIn(Strict):
    """One line of a stock move."""

    product_id: int
    from_location_id: int
    to_location_id: int
    quantity: PositiveQty
    lot_id: int | None = None
    reservation_id: int | None = None


class StockMoveIn(Strict):
    """A stock move of one or more lines."""

    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    lines: list[MoveLineIn] = Field(min_length=1, max_length=500)
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class PostedLineOut(BaseModel):
    """The outcome of one line."""

    line_no: int
    product_id: int
    lot_id: int | None
    from_location_id: int
    to_location_id: int
    requested: Decimal
    posted: Decimal
    shortfall: Decimal
    accepted_by: str | None


class PostedMoveOut(BaseModel):
    """The outcome of a stock move."""

    move_id: int
    reference: str
    lines: list[PostedLineOut]


class ReserveIn(Strict):
    """Reserve free stock for a document."""

    product_id: int
    location_id: int
    quantity: PositiveQty
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    lot_id: int | None = None


class ReservationOut(Out):
    """A reservation."""

    id: int
    product_id: int
    location_id: int
    lot_id: int | None
    reserved_qty: Decimal
    quantity: Decimal
    consumed_qty: Decimal
    released_qty: Decimal
    reference: str


# --- transfers -----------------------------------------------------------------------------------


class TransferIn(Strict):
    """Send WIP from one department store to the next."""

    product_id: int
    from_location_id: int
    to_location_id: int
    quantity: PositiveQty
    lot_id: int | None = None
    destination: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = None
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class TransferAcceptIn(Strict):
    """The quantity the receiving department counted."""

    received_qty: Qty


class TransferOut(Out):
    """A transfer and who did what."""

    id: int
    number: str
    product_id: int
    lot_id: int | None
    from_location_id: int
    to_location_id: int
    destination: str | None
    reference: str | None
    state: str
    sent_qty: Decimal
    received_qty: Decimal | None
    sent_by: str | None
    sent_at: datetime
    accepted_by: str | None
    accepted_at: datetime | None
    cancelled_by: str | None
    cancelled_at: datetime | None


# --- purchasing ----------------------------------------------------------------------------------


class PoLineIn(Strict):
    """A purchase order line, in the unit it is bought in."""

    product_id: int
    quantity: PositiveQty
    unit_id: int | None = None
    price: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]


class PoIn(Strict):
    """A new purchase order (Draft)."""

    po_type: PoType
    supplier_id: int
    location_id: int
    lines: list[PoLineIn] = Field(min_length=1, max_length=500)
    expected_date: date | None = None
    week: Week | None = None
    destination: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    currency: Literal["IDR"] = "IDR"
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class PoLineOut(Out):
    """A purchase order line."""

    id: int
    line_no: int
    product_id: int
    unit_id: int
    quantity: Decimal
    price: Decimal
    stock_qty: Decimal
    received_qty: Decimal


class PoOut(Out):
    """A purchase order with its lines."""

    id: int
    number: str
    po_type: str
    supplier_id: int
    location_id: int
    state: str
    currency: str
    expected_date: date | None
    week: str | None
    destination: str | None
    note: str | None
    created_by: str | None
    created_at: datetime
    sent_by: str | None
    sent_at: datetime | None
    closed_at: datetime | None
    cancelled_by: str | None
    cancelled_at: datetime | None
    lines: list[PoLineOut] = []


class ReceiptLineIn(Strict):
    """What arrived for one PO line, in the line's purchase unit."""

    line_id: int
    quantity: PositiveQty
    lot_code: Code | None = None


class ReceiptIn(Strict):
    """A (partial) delivery against a purchase order."""

    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=500)


class ReceiptOut(BaseModel):
    """The outcome of a receipt: the purchase order after it, the receipt and the stock posting."""

    purchase_order: PoOut
    receipt_id: int
    move: PostedMoveOut


class ReleaseIn(Strict):
    """Give back part of a reservation (all that is left when ``quantity`` is omitted)."""

    quantity: PositiveQty | None = None


class StockRowOut(BaseModel):
    """One balance of the stock summary."""

    product_id: int
    product_code: str
    location_id: int
    location_code: str
    lot_id: int | None
    lot_code: str | None
    on_hand: Decimal
    reserved: Decimal
    available: Decimal


class LedgerOut(Out):
    """One ledger row (a posted move line)."""

    id: int
    move_id: int
    line_no: int
    product_id: int
    lot_id: int | None
    from_location_id: int
    to_location_id: int
    quantity: Decimal
    reservation_id: int | None
    reference: str
    created_by: str | None
    created_at: datetime


class LotBalanceOut(BaseModel):
    """Where (part of) a lot is now."""

    location_id: int
    location_code: str
    on_hand: Decimal
    reserved: Decimal


class LotDetailOut(BaseModel):
    """A lot, where it is and every move of it."""

    lot: LotOut
    balances: list[LotBalanceOut]
    moves: list[LedgerOut]


class InventoryRowOut(BaseModel):
    """One line of the inventory report."""

    product_id: int
    product_code: str
    product_name: str
    category_code: str | None
    location_code: str
    on_hand: Decimal
    reserved: Decimal
    min_stock: Decimal
    product_total: Decimal
    below_minimum: bool
