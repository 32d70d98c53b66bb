"""Request and response models of the kanban API (Pydantic v2)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Priority = Literal["low", "normal", "high", "urgent"]
CardState = Literal["pending", "approved", "in_progress", "completed", "cancelled", "rejected"]
ColumnState = Literal["pending", "approved", "in_progress", "completed"]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- boards -------------------------------------------------------------------------------------


class ColumnIn(BaseModel):
    """A column of a new board (or added to one): name, optional WIP limit and mapped card state."""

    name: str = Field(min_length=1, max_length=60)
    wip_limit: int | None = Field(default=None, gt=0)
    state: ColumnState | None = None


class ColumnPatch(BaseModel):
    """Changes to a column (omitted fields stay); ``wip_limit: null`` removes the limit."""

    name: str | None = Field(default=None, min_length=1, max_length=60)
    position: int | None = Field(default=None, ge=1)
    wip_limit: int | None = Field(default=None, gt=0)


class MoveRule(BaseModel):
    """An allowed move, by column names."""

    from_column: str = Field(min_length=1, max_length=60)
    to_column: str = Field(min_length=1, max_length=60)


class BoardIn(BaseModel):
    """A custom board; without ``columns`` it gets the four lifecycle columns and their moves."""

    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)
    department: str | None = Field(default=None, max_length=32)
    auto_approve_below: Decimal | None = Field(default=None, gt=0)
    source_location_id: int | None = None
    columns: list[ColumnIn] = Field(default_factory=list, max_length=20)
    moves: list[MoveRule] = Field(default_factory=list, max_length=400)


class BoardPatch(BaseModel):
    """Changes to a board (omitted fields stay); ``auto_approve_below: null`` turns auto-approval off."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    auto_approve_below: Decimal | None = Field(default=None, gt=0)
    source_location_id: int | None = None
    active: bool | None = None


class ColumnOut(_Out):
    """A column of a board."""

    id: int
    board_id: int
    name: str
    position: int
    wip_limit: int | None
    state: str | None


class BoardOut(_Out):
    """A board with its columns and allowed moves (column id pairs)."""

    id: int
    code: str
    name: str
    kind: str
    department: str | None
    auto_approve_below: Decimal | None
    source_location_id: int | None
    active: bool
    columns: list[ColumnOut] = Field(default_factory=list)
    moves: list[tuple[int, int]] = Field(default_factory=list)


# --- cards --------------------------------------------------------------------------------------


class CardIn(BaseModel):
    """A replenishment request: product and quantity for a department's store.

    ``department`` defaults to the caller's department; ``board_id`` to that department's board;
    ``store_location_id`` to the department's store.
    """

    product_id: int
    quantity: Decimal = Field(gt=0, max_digits=18, decimal_places=4)
    department: str | None = Field(default=None, max_length=32)
    board_id: int | None = None
    store_location_id: int | None = None
    source_location_id: int | None = None
    priority: Priority = "normal"
    needed_by: date | None = None
    spk_id: int | None = None
    mo_id: int | None = None
    note: str | None = Field(default=None, max_length=500)


class MoveIn(BaseModel):
    """Where a card goes: a column of its board."""

    column_id: int
    reason: str | None = Field(default=None, max_length=500)


class ReasonIn(BaseModel):
    """Why a card is rejected or cancelled."""

    reason: str = Field(min_length=1, max_length=500)


class CardOut(_Out):
    """A card."""

    id: int
    number: str
    board_id: int
    column_id: int | None
    kind: str
    state: str
    product_id: int
    quantity: Decimal
    department: str
    store_location_id: int | None
    source_location_id: int | None
    priority: str
    needed_by: date | None
    spk_id: int | None
    mo_id: int | None
    rule_id: int | None
    move_id: int | None
    note: str | None
    reason: str | None
    requested_by: str | None
    created_at: datetime
    updated_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    completed_by: str | None
    completed_at: datetime | None


class CardEventOut(_Out):
    """One entry of a card's history."""

    id: int
    action: str
    from_column_id: int | None
    to_column_id: int | None
    from_state: str | None
    to_state: str
    reason: str | None
    user: str | None
    at: datetime


class CardDetailOut(CardOut):
    """A card with its history, oldest first."""

    history: list[CardEventOut]


class ColumnCardsOut(BaseModel):
    """A column of a board with its cards (open ones, and recently closed ones where they rest)."""

    column: ColumnOut
    open_count: int
    over_limit: bool
    cards: list[CardOut]


class BoardDetailOut(BaseModel):
    """A board with its cards grouped by column, in column order."""

    board: BoardOut
    columns: list[ColumnCardsOut]


# --- reorder rules ------------------------------------------------------------------------------


class RuleIn(BaseModel):
    """A reorder point of a product in a department store."""

    product_id: int
    location_id: int
    reorder_point: Decimal = Field(ge=0, max_digits=18, decimal_places=4)
    order_qty: Decimal = Field(gt=0, max_digits=18, decimal_places=4)
    priority: Priority = "normal"


class RulePatch(BaseModel):
    """Changes to a reorder rule (omitted fields stay)."""

    reorder_point: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=4)
    order_qty: Decimal | None = Field(default=None, gt=0, max_digits=18, decimal_places=4)
    priority: Priority | None = None
    active: bool | None = None


class RuleOut(_Out):
    """A reorder rule."""

    id: int
    product_id: int
    location_id: int
    reorder_point: Decimal
    order_qty: Decimal
    priority: str
    active: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime
