"""The PPIC plugin's tables (all prefixed ``ppic_``).

Planned and produced quantities of a sales order line are not stored: they are summed from the MOs
planned for it and their final SPK's daily inputs, so they can never drift from production's data.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base, Quantity

SO_STATES = ("draft", "confirmed", "in_production", "done", "cancelled")
PO_ROLES = ("fabric", "label")
RELEASE_TRIGGERS = ("manual", "po_received")


class SalesOrder(Base):
    """A buyer's order: Draft -> Confirmed -> In production -> Done, or Cancelled."""

    __tablename__ = "ppic_sales_order"
    __table_args__ = (Index("ix_ppic_sales_order_state_week", "state", "delivery_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_po_number: Mapped[str] = mapped_column(String(60), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("warehouse_partner.id"), index=True)
    order_date: Mapped[date] = mapped_column(Date)
    delivery_week: Mapped[str] = mapped_column(String(10))
    destination: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class SalesOrderLine(Base):
    """A finished good and the quantity the buyer ordered of it."""

    __tablename__ = "ppic_sales_order_line"
    __table_args__ = (
        UniqueConstraint("sales_order_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_order_id: Mapped[int] = mapped_column(ForeignKey("ppic_sales_order.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)


class MoPlan(Base):
    """An MO PPIC planned from a sales order line (one row per MO)."""

    __tablename__ = "ppic_mo_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    mo_id: Mapped[int] = mapped_column(ForeignKey("production_mo.id"), unique=True)
    so_line_id: Mapped[int] = mapped_column(ForeignKey("ppic_sales_order_line.id"), index=True)
    over_plan: Mapped[bool] = mapped_column(default=False)
    schedule_locked_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MoPurchaseOrder(Base):
    """A purchase order an MO waits for, in the role its receipt plays (fabric or label)."""

    __tablename__ = "ppic_mo_purchase_order"
    __table_args__ = (UniqueConstraint("mo_id", "purchase_order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mo_id: Mapped[int] = mapped_column(ForeignKey("production_mo.id"), index=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("warehouse_purchase_order.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MoRelease(Base):
    """One release of an MO made through PPIC; unique per (MO, level), so no release happens twice."""

    __tablename__ = "ppic_mo_release"
    __table_args__ = (UniqueConstraint("mo_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mo_id: Mapped[int] = mapped_column(ForeignKey("production_mo.id"))
    level: Mapped[str] = mapped_column(String(10))
    trigger: Mapped[str] = mapped_column(String(20))
    purchase_order_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_purchase_order.id"))
    event_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


MODELS: list[type[Base]] = [SalesOrder, SalesOrderLine, MoPlan, MoPurchaseOrder, MoRelease]
