"""The after-commit events the warehouse emits (through the kernel's outbox) and their payloads.

Subscribers implement ``on_stock_moved(session, event)``, ``on_po_received(session, event)`` and
``on_transfer_blocked(session, event)``; the hookspecs live in ``erp_warehouse.hookspecs``.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from kernel.events import Event


class MovedLine(BaseModel):
    """One posted line of a stock move."""

    line_no: int
    product_id: int
    from_location_id: int
    to_location_id: int
    lot_id: int | None
    requested: Decimal
    posted: Decimal
    shortfall: Decimal
    accepted_by: str | None


class StockMoved(BaseModel):
    """Payload of ``stock_moved``: a stock move was posted (and committed)."""

    move_id: int
    reference: str
    user: str | None
    lines: list[MovedLine]


class ReceivedPoLine(BaseModel):
    """One line of a goods receipt, in the product's stock unit."""

    product_id: int
    location_id: int
    lot_id: int | None
    quantity: Decimal


class PoReceived(BaseModel):
    """Payload of ``po_received``: goods were received against a purchase order."""

    po_id: int
    number: str
    po_type: str
    state: str
    week: str | None
    destination: str | None
    location_id: int
    receipt_id: int
    move_id: int
    lines: list[ReceivedPoLine]


class TransferBlocked(BaseModel):
    """Payload of ``transfer_blocked``: a transfer was refused because the receiving line is not clear."""

    product_id: int
    from_location_id: int
    to_location_id: int
    to_location_code: str
    department: str | None
    destination: str | None
    reference: str | None
    quantity: Decimal
    user: str | None
    blocking_transfer_id: int
    blocking_number: str
    blocking_product_id: int
    blocking_destination: str | None


STOCK_MOVED = Event(name="stock_moved", version=1, payload=StockMoved)
PO_RECEIVED = Event(name="po_received", version=1, payload=PoReceived)
TRANSFER_BLOCKED = Event(
    name="transfer_blocked",
    version=1,
    payload=TransferBlocked,
    description="A transfer was refused by line clearance (the receiving store holds another article).",
)
EVENTS = [STOCK_MOVED, PO_RECEIVED, TRANSFER_BLOCKED]
