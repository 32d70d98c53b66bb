"""The warehouse plugin's tables (all prefixed ``warehouse_``).

Stock is an append-only ledger (``warehouse_stock_ledger``, one row per posted line, from -> to) plus a
balance per (product, internal location, lot) that every posting updates atomically. Only internal
locations (warehouse, department stores, quarantine, transit) hold balances; supplier, customer,
production and scrap are virtual ends of a move. ``lot_key`` is the lot id or 0, so that "no lot" is one
unique key on every database (NULLs are distinct in unique constraints).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base, Money, Quantity

PRODUCT_TYPES = ("raw_material", "auxiliary", "wip", "finished_good", "service")
PARTNER_KINDS = ("customer", "supplier", "subcontractor")
LOCATION_KINDS = (
    "view",
    "warehouse",
    "store",
    "quarantine",
    "transit",
    "supplier",
    "customer",
    "production",
    "scrap",
)
INTERNAL_KINDS = frozenset({"warehouse", "store", "quarantine", "transit"})
"""Location kinds that hold stock balances; the others are the virtual ends of moves."""

BigId = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit ids on PostgreSQL; INTEGER on SQLite so the column stays an auto-incrementing rowid."""


class Unit(Base):
    """A unit of measure (Pcs, Meter, Yard, Roll, Kg, Gram, ...)."""

    __tablename__ = "warehouse_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class UnitConversion(Base):
    """``1 from_unit = factor to_unit``, for every product or (``product_id`` set) for one product.

    A roll of one fabric is 50 m, of another 45 m: such conversions are product-specific.
    """

    __tablename__ = "warehouse_unit_conversion"
    __table_args__ = (
        UniqueConstraint("product_key", "from_unit_id", "to_unit_id"),
        CheckConstraint("factor > 0", name="factor_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_product.id"))
    product_key: Mapped[int] = mapped_column(Integer, default=0)
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("warehouse_unit.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("warehouse_unit.id"))
    factor: Mapped[Decimal] = mapped_column(Quantity)


class Category(Base):
    """A product category (Fabric, Filling, Thread, Labels, Packaging, ...)."""

    __tablename__ = "warehouse_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Product(Base):
    """A product: raw material, auxiliary, WIP, finished good or service."""

    __tablename__ = "warehouse_product"
    __table_args__ = (CheckConstraint("min_stock >= 0", name="min_stock_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("warehouse_unit.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_category.id"))
    min_stock: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    pcs_per_carton: Mapped[int | None] = mapped_column(Integer)
    cartons_per_pallet: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Partner(Base):
    """A customer, supplier or subcontractor."""

    __tablename__ = "warehouse_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Location(Base):
    """A node of the location tree; internal kinds hold stock, the others are virtual."""

    __tablename__ = "warehouse_location"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_location.id"))
    department: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def internal(self) -> bool:
        """True when the location holds stock balances."""
        return self.kind in INTERNAL_KINDS


class Lot(Base):
    """A fabric roll or material batch."""

    __tablename__ = "warehouse_lot"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60))
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_partner.id"))
    purchase_order_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_purchase_order.id"))
    received_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    received_at: Mapped[datetime | None]
    expires_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class StockBalance(Base):
    """On hand and reserved quantity of one product at one internal location (and lot)."""

    __tablename__ = "warehouse_stock_balance"
    __table_args__ = (
        UniqueConstraint("product_id", "location_id", "lot_key"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        Index("ix_warehouse_stock_balance_location", "location_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_lot.id"))
    lot_key: Mapped[int] = mapped_column(Integer, default=0)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockMove(Base):
    """One posting (a document with one or more lines): who, when, why."""

    __tablename__ = "warehouse_stock_move"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockLedger(Base):
    """One posted line of a move: ``quantity`` of a product (and lot) went from one location to another.

    Append-only: rows are never updated or deleted; a correction is a new move.
    """

    __tablename__ = "warehouse_stock_ledger"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_warehouse_stock_ledger_product", "product_id", "id"),
        Index("ix_warehouse_stock_ledger_from", "from_location_id", "product_id", "lot_key"),
        Index("ix_warehouse_stock_ledger_to", "to_location_id", "product_id", "lot_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    move_id: Mapped[int] = mapped_column(ForeignKey("warehouse_stock_move.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_lot.id"))
    lot_key: Mapped[int] = mapped_column(Integer, default=0)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_stock_reservation.id"))
    reference: Mapped[str] = mapped_column(String(120))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockShortfall(Base):
    """A quantity a move could not take from stock and that a plugin accepted (e.g. as material debt)."""

    __tablename__ = "warehouse_stock_shortfall"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    move_id: Mapped[int] = mapped_column(ForeignKey("warehouse_stock_move.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_lot.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    accepted_by: Mapped[str] = mapped_column(String(60))
    reference: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockReservation(Base):
    """Stock set aside for a document (an SPK's materials); ``quantity`` is what is still reserved."""

    __tablename__ = "warehouse_stock_reservation"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index("ix_warehouse_stock_reservation_key", "product_id", "location_id", "lot_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_lot.id"))
    lot_key: Mapped[int] = mapped_column(Integer, default=0)
    reserved_qty: Mapped[Decimal] = mapped_column(Quantity)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    consumed_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    released_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    reference: Mapped[str] = mapped_column(String(120), index=True)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Transfer(Base):
    """WIP handed from one department store to the next: sent, then accepted (or cancelled)."""

    __tablename__ = "warehouse_transfer"
    __table_args__ = (
        CheckConstraint("sent_qty > 0", name="sent_qty_positive"),
        Index("ix_warehouse_transfer_open", "to_location_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_lot.id"))
    from_location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    transit_location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    destination: Mapped[str | None] = mapped_column(String(60))
    reference: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(20), default="sent")
    sent_qty: Mapped[Decimal] = mapped_column(Quantity)
    received_qty: Mapped[Decimal | None] = mapped_column(Quantity)
    sent_by: Mapped[str | None] = mapped_column(String(120))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_by: Mapped[str | None] = mapped_column(String(120))
    accepted_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(120))
    cancelled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(500))


class PurchaseOrder(Base):
    """A purchase order: fabric, label or accessories; Draft -> Sent -> Received -> Done / Cancelled."""

    __tablename__ = "warehouse_purchase_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    po_type: Mapped[str] = mapped_column(String(20))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("warehouse_partner.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    currency: Mapped[str] = mapped_column(String(3), default="IDR")
    expected_date: Mapped[date | None] = mapped_column(Date)
    week: Mapped[str | None] = mapped_column(String(10))
    destination: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_by: Mapped[str | None] = mapped_column(String(120))
    sent_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(120))
    cancelled_at: Mapped[datetime | None]


class PurchaseOrderLine(Base):
    """A line of a purchase order, bought in ``unit_id`` and stocked in the product's unit."""

    __tablename__ = "warehouse_purchase_order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("warehouse_purchase_order.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("warehouse_unit.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    price: Mapped[Decimal] = mapped_column(Money)
    stock_qty: Mapped[Decimal] = mapped_column(Quantity)
    received_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))


class Receipt(Base):
    """One goods receipt against a purchase order (a partial delivery), with its stock move."""

    __tablename__ = "warehouse_receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("warehouse_purchase_order.id"), index=True)
    move_id: Mapped[int] = mapped_column(ForeignKey("warehouse_stock_move.id"))
    received_by: Mapped[str | None] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


MODELS: list[type[Base]] = [
    Unit,
    Category,
    Product,
    UnitConversion,
    Partner,
    Location,
    PurchaseOrder,
    PurchaseOrderLine,
    Lot,
    StockBalance,
    StockMove,
    StockReservation,
    StockLedger,
    StockShortfall,
    Transfer,
    Receipt,
]
