"""Purchase orders: Draft -> Sent -> Received (partial receipts, by lot) -> Done, or Cancelled.

A receipt posts stock from the supplier location into the PO's store (one lot per line when given),
then calls ``on_goods_received`` in the same transaction so material debt settles atomically with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

import pluggy
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from erp_warehouse.events import PoReceived, ReceivedPoLine
from erp_warehouse.models import Location, Lot, Partner, Product, PurchaseOrder, PurchaseOrderLine, Receipt
from erp_warehouse.schemas import PoIn, ReceiptLineIn
from erp_warehouse.stock import GoodsReceived, MoveLine, PostedMove, ReceivedLine, post_stock_move
from erp_warehouse.units import to_stock_unit
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.events import emit

RECEIVABLE = ("sent", "received")
PoState = Literal["draft", "sent", "received", "done", "cancelled"]


def get_po(session: Session, *, po_id: int, lock: bool = False) -> PurchaseOrder:
    """One purchase order (locked when ``lock``); NotFound when it does not exist."""
    stmt = select(PurchaseOrder).where(PurchaseOrder.id == po_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    po = session.scalar(stmt)
    if po is None:
        raise NotFound(f"purchase order {po_id} does not exist")
    return po


def po_lines(session: Session, *, po_id: int) -> list[PurchaseOrderLine]:
    """The lines of a purchase order, in order."""
    stmt = select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == po_id)
    return list(session.scalars(stmt.order_by(PurchaseOrderLine.line_no)))


def create_po(session: Session, *, data: PoIn, user: str | None = None) -> PurchaseOrder:
    """Create a Draft purchase order; quantities are converted to each product's stock unit."""
    errors = []
    supplier = session.get(Partner, data.supplier_id)
    if supplier is None or supplier.kind != "supplier" or not supplier.active:
        errors.append({"field": "supplier_id", "message": "must be an active supplier"})
    location = session.get(Location, data.location_id)
    if location is None or not location.internal or not location.active:
        errors.append({"field": "location_id", "message": "must be an active internal location"})
    if data.po_type == "label":
        for name in ("week", "destination"):
            if not getattr(data, name):
                errors.append({"field": name, "message": "required for a label purchase order"})
    products = {
        p.id: p
        for p in session.scalars(select(Product).where(Product.id.in_({x.product_id for x in data.lines})))
    }
    stock_qty: list[Decimal] = []
    for i, line in enumerate(data.lines):
        product = products.get(line.product_id)
        if product is None or not product.active:
            errors.append({"field": f"lines.{i}.product_id", "message": "unknown or inactive product"})
            continue
        try:
            stock_qty.append(
                to_stock_unit(
                    session, product=product, quantity=line.quantity, unit_id=line.unit_id or product.unit_id
                )
            )
        except ValidationFailed:
            errors.append(
                {"field": f"lines.{i}.unit_id", "message": "no conversion to the product's stock unit"}
            )
    if errors:
        raise ValidationFailed("invalid purchase order", errors=errors)
    po = PurchaseOrder(
        number=f"PO-{uuid.uuid4().hex[:12]}",
        po_type=data.po_type,
        supplier_id=data.supplier_id,
        location_id=data.location_id,
        state="draft",
        currency=data.currency,
        expected_date=data.expected_date,
        week=data.week,
        destination=data.destination,
        note=data.note,
        created_by=user,
        created_at=utcnow(),
    )
    session.add(po)
    session.flush()
    po.number = f"PO-{po.id:06d}"
    _audit(session, po, "create", None)
    for i, line in enumerate(data.lines):
        session.add(
            PurchaseOrderLine(
                purchase_order_id=po.id,
                line_no=i + 1,
                product_id=line.product_id,
                unit_id=line.unit_id or products[line.product_id].unit_id,
                quantity=line.quantity,
                price=line.price,
                stock_qty=stock_qty[i],
                received_qty=Decimal(0),
            )
        )
    session.flush()
    return po


def _transition(po: PurchaseOrder, allowed: Sequence[str], action: str) -> None:
    if po.state not in allowed:
        raise Conflict(f"{po.number} is {po.state}; cannot {action} it (allowed from: {', '.join(allowed)})")


def _audit(session: Session, po: PurchaseOrder, action: str, old_state: str | None) -> None:
    record_change(
        session,
        entity_type="warehouse.purchase_order",
        entity_id=po.id,
        action=action,
        old=None if old_state is None else {"state": old_state},
        new={"state": po.state, "number": po.number} if action != "delete" else None,
    )


def send_po(session: Session, *, po_id: int, user: str | None = None) -> PurchaseOrder:
    """Approve and send a Draft purchase order to its supplier."""
    po = get_po(session, po_id=po_id, lock=True)
    _transition(po, ("draft",), "send")
    old = po.state
    po.state, po.sent_by, po.sent_at = "sent", user, utcnow()
    session.flush()
    _audit(session, po, "send", old)
    return po


def cancel_po(session: Session, *, po_id: int, user: str | None = None) -> PurchaseOrder:
    """Cancel a Draft or Sent purchase order (nothing was received)."""
    po = get_po(session, po_id=po_id, lock=True)
    _transition(po, ("draft", "sent"), "cancel")
    old = po.state
    po.state, po.cancelled_by, po.cancelled_at = "cancelled", user, utcnow()
    session.flush()
    _audit(session, po, "cancel", old)
    return po


def close_po(session: Session, *, po_id: int) -> PurchaseOrder:
    """Mark a partly received purchase order Done (the rest will not come)."""
    po = get_po(session, po_id=po_id, lock=True)
    _transition(po, ("received",), "close")
    po.state, po.closed_at = "done", utcnow()
    session.flush()
    _audit(session, po, "close", "received")
    return po


def delete_po(session: Session, *, po_id: int) -> None:
    """Delete a Draft or Cancelled purchase order (one that never moved stock)."""
    po = get_po(session, po_id=po_id, lock=True)
    _transition(po, ("draft", "cancelled"), "delete")
    _audit(session, po, "delete", po.state)
    session.execute(delete(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == po.id))
    session.delete(po)
    session.flush()


def receive_po(
    session: Session,
    *,
    hooks: pluggy.HookRelay,
    po_id: int,
    lines: Sequence[ReceiptLineIn],
    user: str | None = None,
) -> tuple[PurchaseOrder, Receipt, PostedMove]:
    """Receive (part of) a Sent purchase order: post stock by lot, then call ``on_goods_received``.

    Quantities are in each line's purchase unit and may not exceed what is still open. The PO becomes
    Received, or Done when every line is complete.
    """
    po = get_po(session, po_id=po_id, lock=True)
    _transition(po, RECEIVABLE, "receive")
    old_state = po.state
    by_id = {line.id: line for line in po_lines(session, po_id=po.id)}
    supplier_location = session.scalar(
        select(Location.id).where(Location.kind == "supplier", Location.active).order_by(Location.id).limit(1)
    )
    if supplier_location is None:
        raise Conflict("no active supplier location is configured")
    errors = []
    products = {
        p.id: p
        for p in session.scalars(
            select(Product).where(Product.id.in_({x.product_id for x in by_id.values()}))
        )
    }
    receiving: dict[int, Decimal] = {}
    planned: list[tuple[PurchaseOrderLine, Decimal, str | None]] = []
    for i, item in enumerate(lines):
        po_line = by_id.get(item.line_id)
        if po_line is None:
            errors.append({"field": f"lines.{i}.line_id", "message": f"not a line of {po.number}"})
            continue
        product = products[po_line.product_id]
        qty = to_stock_unit(session, product=product, quantity=item.quantity, unit_id=po_line.unit_id)
        receiving[po_line.id] = receiving.get(po_line.id, Decimal(0)) + qty
        planned.append((po_line, qty, item.lot_code))
    if errors:
        raise ValidationFailed("invalid receipt", errors=errors)
    for line_id, qty in receiving.items():
        po_line = by_id[line_id]
        if po_line.received_qty + qty > po_line.stock_qty:
            raise Conflict(
                f"line {po_line.line_no} of {po.number}: receiving {qty} would exceed the ordered "
                f"{po_line.stock_qty} ({po_line.received_qty} already received)"
            )
    move_lines = [
        MoveLine(
            po_line.product_id,
            supplier_location,
            po.location_id,
            qty,
            lot_id=_lot_for(session, po, po_line, lot_code, qty) if lot_code else None,
        )
        for po_line, qty, lot_code in planned
    ]
    moved = post_stock_move(session, hooks=hooks, lines=move_lines, reference=po.number, user=user)
    for line_id, qty in receiving.items():
        by_id[line_id].received_qty += qty
    po.state = "done" if all(x.received_qty >= x.stock_qty for x in by_id.values()) else "received"
    if po.state == "done":
        po.closed_at = utcnow()
    receipt = Receipt(purchase_order_id=po.id, move_id=moved.move_id, received_by=user, received_at=utcnow())
    session.add(receipt)
    session.flush()
    _audit(session, po, "receive", old_state)
    hooks.on_goods_received(
        session=session,
        receipt=GoodsReceived(
            purchase_order_id=po.id,
            receipt_id=receipt.id,
            move_id=moved.move_id,
            reference=po.number,
            lines=tuple(
                ReceivedLine(x.product_id, x.to_location_id, x.lot_id, x.posted) for x in moved.lines
            ),
            user=user,
        ),
    )
    emit(
        session,
        "po_received",
        PoReceived(
            po_id=po.id,
            number=po.number,
            po_type=po.po_type,
            state=po.state,
            week=po.week,
            destination=po.destination,
            location_id=po.location_id,
            receipt_id=receipt.id,
            move_id=moved.move_id,
            lines=[
                ReceivedPoLine(
                    product_id=x.product_id, location_id=x.to_location_id, lot_id=x.lot_id, quantity=x.posted
                )
                for x in moved.lines
            ],
        ),
        aggregate=f"po:{po.id}",
    )
    return po, receipt, moved


def _lot_for(session: Session, po: PurchaseOrder, line: PurchaseOrderLine, code: str, qty: Decimal) -> int:
    """The lot ``code`` of the line's product, created on its first receipt (with supplier and PO)."""
    lot = session.scalar(select(Lot).where(Lot.product_id == line.product_id, Lot.code == code))
    if lot is None:
        lot = Lot(
            code=code,
            product_id=line.product_id,
            supplier_id=po.supplier_id,
            purchase_order_id=po.id,
            received_qty=qty,
            received_at=utcnow(),
            active=True,
        )
        session.add(lot)
        session.flush()
    else:
        lot.received_qty += qty
    return lot.id


def list_pos(
    session: Session,
    *,
    state: str | None = None,
    po_type: str | None = None,
    supplier_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PurchaseOrder], int]:
    """Purchase orders, newest first, filtered by state, type and supplier."""
    stmt = select(PurchaseOrder)
    if state:
        stmt = stmt.where(PurchaseOrder.state == state)
    if po_type:
        stmt = stmt.where(PurchaseOrder.po_type == po_type)
    if supplier_id is not None:
        stmt = stmt.where(PurchaseOrder.supplier_id == supplier_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(PurchaseOrder.id.desc()).offset(offset).limit(limit))
    return list(rows), total
