"""The kanban plugin's tables (all prefixed ``kanban_``).

A board has ordered columns; a column may carry a card state (department boards map Pending, Approved,
In progress and Completed to one column each) or none (a free column of a custom board, where a card
keeps its state). Allowed moves are explicit column pairs. A card's history is one row per move or
state change. Two partial unique indexes hold the plugin's invariants under any concurrency: at most one
open replenishment card per product and store, and one production card per SPK.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base, Quantity

CARD_STATES = ("pending", "approved", "in_progress", "completed", "cancelled", "rejected")
OPEN_STATES = ("pending", "approved", "in_progress")
"""States of a card still on its way (count against WIP limits; at most one per product and store)."""
PRIORITIES = ("low", "normal", "high", "urgent")
CARD_KINDS = ("replenishment", "production")
BOARD_KINDS = ("department", "custom")

_OPEN_REPLENISHMENT = "kind = 'replenishment' AND state IN ('pending', 'approved', 'in_progress')"


class Board(Base):
    """A kanban board: one per production department (``kind='department'``) or a custom one."""

    __tablename__ = "kanban_board"
    __table_args__ = (
        CheckConstraint("auto_approve_below IS NULL OR auto_approve_below > 0", name="threshold_positive"),
        Index(
            "uq_kanban_board_department",
            "department",
            unique=True,
            postgresql_where=text("kind = 'department'"),
            sqlite_where=text("kind = 'department'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="custom")
    department: Mapped[str | None] = mapped_column(String(32))
    auto_approve_below: Mapped[Decimal | None] = mapped_column(Quantity)
    source_location_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_location.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BoardColumn(Base):
    """A column of a board, in ``position`` order, with an optional WIP limit and mapped card state."""

    __tablename__ = "kanban_column"
    __table_args__ = (
        UniqueConstraint("board_id", "name"),
        UniqueConstraint("board_id", "state"),
        CheckConstraint("wip_limit IS NULL OR wip_limit > 0", name="wip_limit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("kanban_board.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer)
    wip_limit: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str | None] = mapped_column(String(20))


class Transition(Base):
    """An allowed move of a card from one column of a board to another."""

    __tablename__ = "kanban_transition"
    __table_args__ = (UniqueConstraint("from_column_id", "to_column_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("kanban_board.id", ondelete="CASCADE"), index=True)
    from_column_id: Mapped[int] = mapped_column(ForeignKey("kanban_column.id", ondelete="CASCADE"))
    to_column_id: Mapped[int] = mapped_column(ForeignKey("kanban_column.id", ondelete="CASCADE"))


class ReorderRule(Base):
    """Raise a card for ``order_qty`` when a store's balance of a product falls to ``reorder_point``."""

    __tablename__ = "kanban_reorder_rule"
    __table_args__ = (
        UniqueConstraint("product_id", "location_id"),
        CheckConstraint("reorder_point >= 0", name="reorder_point_not_negative"),
        CheckConstraint("order_qty > 0", name="order_qty_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    reorder_point: Mapped[Decimal] = mapped_column(Quantity)
    order_qty: Mapped[Decimal] = mapped_column(Quantity)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Card(Base):
    """A kanban card: a replenishment request (product to a department store) or an SPK's card."""

    __tablename__ = "kanban_card"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_kanban_card_board_column", "board_id", "column_id"),
        Index(
            "uq_kanban_card_open_per_store",
            "product_id",
            "store_location_id",
            unique=True,
            postgresql_where=text(_OPEN_REPLENISHMENT),
            sqlite_where=text(_OPEN_REPLENISHMENT),
        ),
        Index(
            "uq_kanban_card_spk",
            "spk_id",
            unique=True,
            postgresql_where=text("kind = 'production'"),
            sqlite_where=text("kind = 'production'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("kanban_board.id"))
    column_id: Mapped[int | None] = mapped_column(ForeignKey("kanban_column.id"))
    kind: Mapped[str] = mapped_column(String(20), default="replenishment")
    state: Mapped[str] = mapped_column(String(20), default="pending")
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    department: Mapped[str] = mapped_column(String(32))
    store_location_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_location.id"))
    source_location_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_location.id"))
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    needed_by: Mapped[date | None] = mapped_column(Date)
    spk_id: Mapped[int | None] = mapped_column(ForeignKey("production_spk.id"))
    mo_id: Mapped[int | None] = mapped_column(ForeignKey("production_mo.id"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("kanban_reorder_rule.id"))
    move_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_stock_move.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(String(500))
    requested_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(120))
    approved_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(120))
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class CardEvent(Base):
    """One entry of a card's history: created, moved, approved, rejected, cancelled, completed, synced."""

    __tablename__ = "kanban_card_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("kanban_card.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_column_id: Mapped[int | None] = mapped_column(ForeignKey("kanban_column.id"))
    to_column_id: Mapped[int | None] = mapped_column(ForeignKey("kanban_column.id"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    user: Mapped[str | None] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(default=utcnow)


MODELS: list[type[Base]] = [Board, BoardColumn, Transition, ReorderRule, Card, CardEvent]
