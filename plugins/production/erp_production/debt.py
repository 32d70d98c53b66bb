"""Material debt: a shortfall of an SPK's consumption, approved, then settled FIFO from goods receipts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from erp_approval import service as approval
from erp_warehouse.models import Location, PurchaseOrderLine
from erp_warehouse.stock import GoodsReceived, MoveLine, Shortfall, post_stock_move
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_production.models import DebtSettlement, MaterialDebt
from erp_production.spk import find_spk_by_number
from kernel.audit import record_change
from kernel.auth.models import User
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound
from kernel.rbac.roles import ROLES
from kernel.site import site_of

ZERO = Decimal(0)
DEBT_TYPE = "production.material_debt"
DEBT_TYPE_NO_SPV = "production.material_debt_manager"
"""Departments without an SPV role (Embroidery, Subcon, Packing) go straight to the Manager."""
OPEN_STATES = ("pending", "approved")


def debt_request_type(department: str) -> str:
    """The approval request type for a department's debt (SPV step only where an SPV role exists)."""
    return DEBT_TYPE if f"SPV {department}" in ROLES else DEBT_TYPE_NO_SPV


def user_id_of(session: Session, username: str | None) -> int:
    """The id of the user who caused a posting; Conflict when unknown (debt needs a requester)."""
    uid = (
        session.scalar(select(User.id).where(User.username == (username or "").lower())) if username else None
    )
    if uid is None:
        raise Conflict(f"material debt needs a known requesting user; {username!r} is not a user")
    return uid


def unit_value(session: Session, *, product_id: int) -> Decimal:
    """Value of one stock unit: the latest purchase price per stock unit (0 when never bought)."""
    row = session.execute(
        select(PurchaseOrderLine.price, PurchaseOrderLine.quantity, PurchaseOrderLine.stock_qty)
        .where(PurchaseOrderLine.product_id == product_id)
        .order_by(PurchaseOrderLine.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None or not row[2]:
        return ZERO
    return (Decimal(row[0]) * Decimal(row[1]) / Decimal(row[2])).quantize(Decimal("0.01"))


def open_debt_value(session: Session) -> Decimal:
    """Value of every open (pending or approved, unsettled part) debt of the site."""
    value = session.scalar(
        select(
            func.coalesce(
                func.sum((MaterialDebt.quantity - MaterialDebt.settled_qty) * MaterialDebt.unit_value), 0
            )
        ).where(MaterialDebt.state.in_(OPEN_STATES))
    )
    return Decimal(value or 0)


def record_debt(session: Session, *, shortfall: Shortfall) -> bool | None:
    """``on_stock_negative``: a consumption by an SPK from its store becomes a debt pending approval.

    Declines (None) for any other posting. The approval amount is the site's open debt value including
    this one, so the site cap (``[plugin.approval.amount_caps]``) adds its extra step above it.
    """
    spk = find_spk_by_number(session, number=shortfall.reference)
    if spk is None or shortfall.location_id != spk.store_location_id:
        return None
    value = unit_value(session, product_id=shortfall.product_id)
    debt = MaterialDebt(
        spk_id=spk.id,
        department=spk.department,
        product_id=shortfall.product_id,
        location_id=shortfall.location_id,
        lot_id=shortfall.lot_id,
        quantity=shortfall.quantity,
        settled_qty=ZERO,
        unit_value=value,
        state="pending",
        move_id=shortfall.move_id,
        created_by=shortfall.user,
        created_at=utcnow(),
    )
    session.add(debt)
    session.flush()
    amount = open_debt_value(session)
    request = approval.submit(
        session,
        request_type=debt_request_type(spk.department),
        subject_plugin="production",
        subject_entity="material_debt",
        subject_id=debt.id,
        payload={
            "spk": spk.number,
            "product_id": debt.product_id,
            "location_id": debt.location_id,
            "quantity": str(debt.quantity),
            "value": str(debt.quantity * value),
        },
        requested_by=user_id_of(session, shortfall.user),
        requester_department=spk.department,
        amount=amount,
    )
    debt.approval_request_id = request.id
    session.flush()
    record_change(
        session,
        entity_type="production.material_debt",
        entity_id=debt.id,
        action="create",
        new={
            "spk": spk.number,
            "product_id": debt.product_id,
            "quantity": str(debt.quantity),
            "approval_request_id": request.id,
        },
    )
    return True


def decide_debt(session: Session, *, debt_id: int, status: str) -> MaterialDebt:
    """Apply the closing approval decision to a debt (approved, or rejected / cancelled)."""
    debt = session.scalar(select(MaterialDebt).where(MaterialDebt.id == debt_id).with_for_update())
    if debt is None:
        raise NotFound(f"material debt {debt_id} does not exist")
    old = debt.state
    debt.state = "approved" if status == "approved" else "rejected"
    debt.decided_at = utcnow()
    session.flush()
    record_change(
        session,
        entity_type="production.material_debt",
        entity_id=debt.id,
        action=status,
        old={"state": old},
        new={"state": debt.state},
    )
    return debt


def settle_debts(session: Session, *, receipt: GoodsReceived) -> list[DebtSettlement]:
    """``on_goods_received``: settle approved debts of each received product FIFO, from the receipt.

    Each settlement consumes from the receipt's location (and lot) into production, in the receipt's
    transaction, and is recorded. Debts are locked oldest first, so concurrent receipts never settle one
    debt twice.
    """
    hooks = site_of(session).registry.pm.hook
    production = session.scalar(
        select(Location.id)
        .where(Location.kind == "production", Location.active)
        .order_by(Location.id)
        .limit(1)
    )
    settlements: list[DebtSettlement] = []
    for line in receipt.lines:
        remaining = line.quantity
        if remaining <= 0 or production is None:
            continue
        debts = session.scalars(
            select(MaterialDebt)
            .where(
                MaterialDebt.product_id == line.product_id,
                MaterialDebt.state == "approved",
                MaterialDebt.settled_qty < MaterialDebt.quantity,
            )
            .order_by(MaterialDebt.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        for debt in debts:
            if remaining <= 0:
                break
            qty = min(debt.quantity - debt.settled_qty, remaining)
            moved = post_stock_move(
                session,
                hooks=hooks,
                lines=[MoveLine(line.product_id, line.location_id, production, qty, line.lot_id)],
                reference=f"DEBT-{debt.id}",
                user=receipt.user,
                note=f"settles material debt from {receipt.reference}",
                allow_shortfall=False,
            )
            settlement = DebtSettlement(
                debt_id=debt.id,
                receipt_id=receipt.receipt_id,
                move_id=moved.move_id,
                quantity=qty,
                created_at=utcnow(),
            )
            session.add(settlement)
            debt.settled_qty += qty
            if debt.settled_qty >= debt.quantity:
                debt.state, debt.settled_at = "settled", utcnow()
            remaining -= qty
            settlements.append(settlement)
            session.flush()
            record_change(
                session,
                entity_type="production.material_debt",
                entity_id=debt.id,
                action="settle",
                new={"receipt_id": receipt.receipt_id, "quantity": str(qty), "state": debt.state},
            )
    return settlements


def list_debts(
    session: Session,
    *,
    status: str | None = None,
    department: str | None = None,
    product_id: int | None = None,
    spk_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[MaterialDebt], int]:
    """Debts: ``status`` open (pending/approved), settled, or a state name; by department, product, SPK."""
    stmt = select(MaterialDebt)
    if status == "open":
        stmt = stmt.where(MaterialDebt.state.in_(OPEN_STATES))
    elif status:
        stmt = stmt.where(MaterialDebt.state == status)
    if department:
        stmt = stmt.where(MaterialDebt.department == department)
    if product_id is not None:
        stmt = stmt.where(MaterialDebt.product_id == product_id)
    if spk_id is not None:
        stmt = stmt.where(MaterialDebt.spk_id == spk_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(session.scalars(stmt.order_by(MaterialDebt.id).offset(offset).limit(limit))), total


def get_debt(
    session: Session, *, debt_id: int, department: str | None = None
) -> tuple[MaterialDebt, list[DebtSettlement]]:
    """One debt with its settlements; NotFound when missing or of another department (scoped callers)."""
    debt = session.get(MaterialDebt, debt_id)
    if debt is None or (department is not None and debt.department != department):
        raise NotFound(f"material debt {debt_id} does not exist")
    rows = session.scalars(
        select(DebtSettlement).where(DebtSettlement.debt_id == debt.id).order_by(DebtSettlement.id)
    )
    return debt, list(rows)


def debt_by_spk(session: Session, *, spk_id: int) -> dict[int, Decimal]:
    """Per material, what the SPK still owes (open debts)."""
    rows = session.execute(
        select(MaterialDebt.product_id, func.sum(MaterialDebt.quantity - MaterialDebt.settled_qty))
        .where(MaterialDebt.spk_id == spk_id, MaterialDebt.state.in_(OPEN_STATES))
        .group_by(MaterialDebt.product_id)
    ).tuples()
    return {p: Decimal(q) for p, q in rows}


def as_payload(debt: MaterialDebt) -> dict[str, Any]:
    """A small JSON view (for audit rows)."""
    return {
        "id": debt.id,
        "state": debt.state,
        "quantity": str(debt.quantity),
        "settled": str(debt.settled_qty),
    }
