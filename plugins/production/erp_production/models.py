"""The production plugin's tables (all prefixed ``production_``).

Quantities are ``Numeric(18, 4)`` end to end. An SPK's cumulative output is not stored on the SPK: it is
the sum of its daily inputs, read under the SPK's row lock, so it can never drift from them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base, Money, Quantity

Percent = Numeric(7, 4)

MO_STATES = ("draft", "released", "in_progress", "done", "cancelled")
SPK_STATES = ("not_started", "in_progress", "completed", "cancelled")
DEBT_STATES = ("pending", "approved", "rejected", "settled")
ROUTINGS: dict[str, tuple[str, ...]] = {
    "route1": ("Cutting", "Embroidery", "Sewing", "Finishing", "Packing"),
    "route2": ("Cutting", "Sewing", "Finishing", "Packing"),
    "route3": ("Cutting", "Subcon", "Finishing", "Packing"),
}
"""The routings of DOMAIN.md: the departments an MO passes, in sequence."""


class Bom(Base):
    """A bill of materials of one product at one department step (one revision)."""

    __tablename__ = "production_bom"
    __table_args__ = (
        CheckConstraint("output_qty > 0", name="output_qty_positive"),
        UniqueConstraint("product_id", "department", "revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"), index=True)
    department: Mapped[str] = mapped_column(String(32))
    revision: Mapped[str] = mapped_column(String(20))
    output_qty: Mapped[Decimal] = mapped_column(Quantity)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BomLine(Base):
    """A component of a BOM: quantity per ``output_qty`` of the product, plus wastage percent."""

    __tablename__ = "production_bom_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("wastage_pct >= 0", name="wastage_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bom_id: Mapped[int] = mapped_column(ForeignKey("production_bom.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    component_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    wastage_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))


class BomVariant(Base):
    """An alternative (takes ``share_pct`` of the line, or its own quantity) or optional material."""

    __tablename__ = "production_bom_variant"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("production_bom_line.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    component_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    share_pct: Mapped[Decimal | None] = mapped_column(Percent)


class ManufacturingOrder(Base):
    """An MO ("SPK Induk"): Draft -> Released (partial / full) -> In progress -> Done, or Cancelled."""

    __tablename__ = "production_mo"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    routing: Mapped[str] = mapped_column(String(10))
    batch_number: Mapped[str] = mapped_column(String(60), unique=True)
    week: Mapped[str | None] = mapped_column(String(10))
    destination: Mapped[str | None] = mapped_column(String(60))
    planned_start: Mapped[date | None] = mapped_column(Date)
    planned_end: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    release_level: Mapped[str | None] = mapped_column(String(10))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]


class Spk(Base):
    """One department's work order of an MO: turns ``input_product`` into ``product`` up to ``target``."""

    __tablename__ = "production_spk"
    __table_args__ = (
        UniqueConstraint("mo_id", "sequence"),
        CheckConstraint("target > 0", name="target_positive"),
        Index("ix_production_spk_department_state", "department", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    mo_id: Mapped[int] = mapped_column(ForeignKey("production_mo.id"), index=True)
    department: Mapped[str] = mapped_column(String(32))
    sequence: Mapped[int] = mapped_column(Integer)
    bom_id: Mapped[int] = mapped_column(ForeignKey("production_bom.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    input_product_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_product.id"))
    store_location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    target: Mapped[Decimal] = mapped_column(Quantity)
    deadline: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(String(1000))
    state: Mapped[str] = mapped_column(String(20), default="not_started")
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class DailyInput(Base):
    """What an SPK produced on one day (one row per SPK and date; a correction edits it)."""

    __tablename__ = "production_daily_input"
    __table_args__ = (
        UniqueConstraint("spk_id", "work_date"),
        CheckConstraint("good >= 0 AND defect >= 0 AND rework >= 0", name="quantities_not_negative"),
        Index("ix_production_daily_input_date", "work_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    spk_id: Mapped[int] = mapped_column(ForeignKey("production_spk.id"))
    work_date: Mapped[date] = mapped_column(Date)
    good: Mapped[Decimal] = mapped_column(Quantity)
    defect: Mapped[Decimal] = mapped_column(Quantity)
    rework: Mapped[Decimal] = mapped_column(Quantity)
    entered_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    corrections: Mapped[int] = mapped_column(Integer, default=0)


class Allocation(Base):
    """A reservation of stock (one lot in the department store) made for an SPK by auto-allocation."""

    __tablename__ = "production_allocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    spk_id: Mapped[int] = mapped_column(ForeignKey("production_spk.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    reservation_id: Mapped[int] = mapped_column(ForeignKey("warehouse_stock_reservation.id"), unique=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consumption(Base):
    """Material an SPK consumed by backflush (negative when a correction returned some)."""

    __tablename__ = "production_consumption"

    id: Mapped[int] = mapped_column(primary_key=True)
    spk_id: Mapped[int] = mapped_column(ForeignKey("production_spk.id"), index=True)
    daily_input_id: Mapped[int] = mapped_column(ForeignKey("production_daily_input.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    move_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_stock_move.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MaterialDebt(Base):
    """Material an SPK consumed that its store did not have: pending -> approved -> settled."""

    __tablename__ = "production_material_debt"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("settled_qty >= 0 AND settled_qty <= quantity", name="settled_within_quantity"),
        Index("ix_production_material_debt_open", "product_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    spk_id: Mapped[int] = mapped_column(ForeignKey("production_spk.id"), index=True)
    department: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_lot.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    settled_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    unit_value: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    move_id: Mapped[int] = mapped_column(ForeignKey("warehouse_stock_move.id"))
    approval_request_id: Mapped[int | None] = mapped_column(ForeignKey("approval_request.id"))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]


class DebtSettlement(Base):
    """Part of a debt paid back from a goods receipt, in the receipt's transaction."""

    __tablename__ = "production_debt_settlement"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    debt_id: Mapped[int] = mapped_column(ForeignKey("production_material_debt.id"), index=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("warehouse_receipt.id"))
    move_id: Mapped[int] = mapped_column(ForeignKey("warehouse_stock_move.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpkEdit(Base):
    """A requested SPK edit (old and new values), applied only once approved."""

    __tablename__ = "production_spk_edit"

    id: Mapped[int] = mapped_column(primary_key=True)
    spk_id: Mapped[int] = mapped_column(ForeignKey("production_spk.id"), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    approval_request_id: Mapped[int | None] = mapped_column(ForeignKey("approval_request.id"))
    requested_by: Mapped[str | None] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(Integer)
    applied_at: Mapped[datetime | None]


MODELS: list[type[Base]] = [
    Bom,
    BomLine,
    BomVariant,
    ManufacturingOrder,
    Spk,
    DailyInput,
    Allocation,
    Consumption,
    MaterialDebt,
    DebtSettlement,
    SpkEdit,
]
