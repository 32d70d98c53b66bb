"""Sales orders: a buyer's PO (unique number), lines of finished goods; Draft -> Confirmed -> In
production -> Done, or Cancelled.

What a line has planned (the quantities of its non-cancelled MOs) and produced (the good output of
those MOs' final SPK, Packing on every routing) is computed on read from production's rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from erp_production.models import ROUTINGS, DailyInput, ManufacturingOrder, Spk
from erp_warehouse.models import Partner, Product
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_ppic.models import MoPlan, SalesOrder, SalesOrderLine
from erp_ppic.schemas import SoIn
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, ValidationFailed

ZERO = Decimal(0)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "confirm": (("draft",), "confirmed"),
    "cancel": (("draft", "confirmed"), "cancelled"),
    "complete": (("in_production",), "done"),
}
"""action -> (states it is allowed from, state it leads to)."""


@dataclass
class LineFigures:
    """What is planned and produced of a sales order line."""

    planned: Decimal = ZERO
    produced: Decimal = ZERO
    mo_ids: list[int] = field(default_factory=list)


def get_so(session: Session, *, so_id: int, lock: bool = False) -> SalesOrder:
    """One sales order (locked when ``lock``); NotFound when missing."""
    stmt = select(SalesOrder).where(SalesOrder.id == so_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    so = session.scalar(stmt)
    if so is None:
        raise NotFound(f"sales order {so_id} does not exist")
    return so


def so_lines(session: Session, *, so_id: int) -> list[SalesOrderLine]:
    """The lines of a sales order, in order."""
    stmt = select(SalesOrderLine).where(SalesOrderLine.sales_order_id == so_id)
    return list(session.scalars(stmt.order_by(SalesOrderLine.line_no)))


def create_so(session: Session, *, data: SoIn, user: str | None = None) -> SalesOrder:
    """Record a Draft sales order; 422 for an unknown customer or a line that is not a finished good,
    409 when the buyer PO number is already recorded."""
    errors = []
    customer = session.get(Partner, data.customer_id)
    if customer is None or customer.kind != "customer" or not customer.active:
        errors.append({"field": "customer_id", "message": "must be an active customer"})
    products = {
        p.id: p
        for p in session.scalars(select(Product).where(Product.id.in_({x.product_id for x in data.lines})))
    }
    for i, line in enumerate(data.lines):
        product = products.get(line.product_id)
        if product is None or not product.active or product.type != "finished_good":
            errors.append({"field": f"lines.{i}.product_id", "message": "must be an active finished good"})
    if errors:
        raise ValidationFailed("invalid sales order", errors=errors)
    taken = session.scalar(select(SalesOrder.id).where(SalesOrder.buyer_po_number == data.buyer_po_number))
    if taken is not None:
        raise Conflict(f"buyer PO {data.buyer_po_number} is already recorded (sales order {taken})")
    so = SalesOrder(
        buyer_po_number=data.buyer_po_number,
        customer_id=data.customer_id,
        order_date=data.order_date,
        delivery_week=data.delivery_week,
        destination=data.destination,
        note=data.note,
        state="draft",
        created_by=user,
        created_at=utcnow(),
    )
    session.add(so)
    session.flush()
    for i, line in enumerate(data.lines, start=1):
        session.add(
            SalesOrderLine(
                sales_order_id=so.id, line_no=i, product_id=line.product_id, quantity=line.quantity
            )
        )
    session.flush()
    record_change(
        session,
        entity_type="ppic.sales_order",
        entity_id=so.id,
        action="create",
        new=data.model_dump(mode="json"),
    )
    return so


def transition(session: Session, *, so_id: int, action: str, user: str | None = None) -> SalesOrder:
    """Confirm, cancel or complete a sales order (409 from a state that does not allow it).

    Cancelling refuses while the order has MOs that are not cancelled; completing refuses until every
    line's produced quantity reaches its ordered quantity.
    """
    allowed, target = TRANSITIONS[action]
    so = get_so(session, so_id=so_id, lock=True)
    if so.state not in allowed:
        raise Conflict(
            f"sales order {so.buyer_po_number} is {so.state}; cannot {action} it "
            f"(allowed from: {', '.join(allowed)})"
        )
    lines = so_lines(session, so_id=so.id)
    figures = line_figures(session, line_ids=[x.id for x in lines])
    if action == "cancel" and any(figures[x.id].mo_ids for x in lines):
        raise Conflict(f"sales order {so.buyer_po_number} has MOs; cancel them first")
    if action == "complete":
        short = [x.line_no for x in lines if figures[x.id].produced < x.quantity]
        if short:
            raise Conflict(f"sales order {so.buyer_po_number}: lines {short} are not fully produced yet")
    old = so.state
    so.state = target
    if action == "confirm":
        so.confirmed_at = utcnow()
    else:
        so.closed_at = utcnow()
    session.flush()
    record_change(
        session,
        entity_type="ppic.sales_order",
        entity_id=so.id,
        action=action,
        old={"state": old},
        new={"state": so.state},
    )
    return so


def mark_in_production(session: Session, *, so: SalesOrder) -> None:
    """A confirmed order whose first MO was just planned moves to In production (audited)."""
    if so.state == "confirmed":
        so.state = "in_production"
        session.flush()
        record_change(
            session,
            entity_type="ppic.sales_order",
            entity_id=so.id,
            action="start_production",
            old={"state": "confirmed"},
            new={"state": "in_production"},
        )


def line_figures(session: Session, *, line_ids: Iterable[int]) -> dict[int, LineFigures]:
    """Planned and produced per sales order line, from its non-cancelled MOs (two queries)."""
    ids = list(line_ids)
    out: dict[int, LineFigures] = defaultdict(LineFigures)
    if not ids:
        return out
    mos = session.execute(
        select(
            MoPlan.so_line_id, ManufacturingOrder.id, ManufacturingOrder.quantity, ManufacturingOrder.routing
        )
        .join(ManufacturingOrder, ManufacturingOrder.id == MoPlan.mo_id)
        .where(MoPlan.so_line_id.in_(ids), ManufacturingOrder.state != "cancelled")
        .order_by(ManufacturingOrder.id)
    ).tuples()
    final_department: dict[int, tuple[int, str]] = {}
    for line_id, mo_id, quantity, routing in mos:
        figures = out[line_id]
        figures.planned += quantity
        figures.mo_ids.append(mo_id)
        final_department[mo_id] = (line_id, ROUTINGS[routing][-1])
    if final_department:
        goods = session.execute(
            select(Spk.mo_id, Spk.department, func.coalesce(func.sum(DailyInput.good), 0))
            .join(DailyInput, DailyInput.spk_id == Spk.id)
            .where(Spk.mo_id.in_(list(final_department)))
            .group_by(Spk.mo_id, Spk.department)
        ).tuples()
        for mo_id, department, good in goods:
            line_id, final = final_department[mo_id]
            if department == final:
                out[line_id].produced += Decimal(good)
    return out


def list_sos(
    session: Session,
    *,
    state: str | None = None,
    delivery_week: str | None = None,
    customer_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SalesOrder], int]:
    """Sales orders, newest first, filtered by state, delivery week and customer."""
    stmt = select(SalesOrder)
    if state:
        stmt = stmt.where(SalesOrder.state == state)
    if delivery_week:
        stmt = stmt.where(SalesOrder.delivery_week == delivery_week)
    if customer_id is not None:
        stmt = stmt.where(SalesOrder.customer_id == customer_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(SalesOrder.id.desc()).offset(offset).limit(limit))
    return list(rows), total
