"""MO planning from sales order lines, purchase-order links, releases and progress.

An MO waits for purchase orders PPIC links to it explicitly, each in a role: ``fabric`` (its receipt lets
Cutting and Embroidery start: partial release) or ``label`` (with fabric, lets every department start:
full release, which locks the MO's week and destination). A PO counts as arrived once goods were
received against it (state Received or Done). Releases go through production's ``release_mo``; PPIC
records each in ``ppic_mo_release`` (unique per MO and level), so none happens twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from erp_production.allocation import reserved_open
from erp_production.bom import requirements
from erp_production.daily import site_today
from erp_production.debt import debt_by_spk
from erp_production.mo import create_mo, get_mo, release_mo
from erp_production.models import ROUTINGS, Bom, DailyInput, ManufacturingOrder, Spk
from erp_production.schemas import MoIn
from erp_warehouse.models import PurchaseOrder, StockBalance
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_ppic.models import MoPlan, MoPurchaseOrder, MoRelease, SalesOrderLine
from erp_ppic.sales import get_so, line_figures, mark_in_production
from erp_ppic.schemas import PlanMoIn, PoLinkIn
from erp_ppic.weeks import local_date
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, ValidationFailed

ZERO = Decimal(0)
ARRIVED = ("received", "done")
RANK = {None: 0, "partial": 1, "full": 2}
PLANNABLE = ("confirmed", "in_production")


# --- planning -------------------------------------------------------------------------------------


def plan_mo(session: Session, *, data: PlanMoIn, user: str | None = None) -> ManufacturingOrder:
    """Create a Draft MO (through production) for a sales order line and link its purchase orders.

    409 when the order is not confirmed, or the quantity exceeds what the line still has to plan
    (unless ``allow_over_plan``); 422 for an unknown line or a PO that does not fit its role.
    """
    line = session.scalar(
        select(SalesOrderLine).where(SalesOrderLine.id == data.so_line_id).with_for_update()
    )
    if line is None:
        raise ValidationFailed(
            "unknown sales order line", errors=[{"field": "so_line_id", "message": "does not exist"}]
        )
    so = get_so(session, so_id=line.sales_order_id)
    if so.state not in PLANNABLE:
        raise Conflict(
            f"sales order {so.buyer_po_number} is {so.state}; MOs are planned for a confirmed order"
        )
    remaining = line.quantity - line_figures(session, line_ids=[line.id])[line.id].planned
    over = data.quantity > remaining
    if over and not data.allow_over_plan:
        raise Conflict(
            f"line {line.line_no} of {so.buyer_po_number} has {remaining} left to plan; {data.quantity} "
            "would plan more than ordered (set allow_over_plan to do it anyway)"
        )
    week, destination = data.week or so.delivery_week, data.destination or so.destination
    pos = _check_links(session, data.purchase_orders, week=week, destination=destination)
    mo = create_mo(
        session,
        data=MoIn(
            product_id=line.product_id,
            quantity=data.quantity,
            routing=data.routing,
            batch_number=data.batch_number,
            week=week,
            destination=destination,
            planned_start=data.planned_start,
            planned_end=data.planned_end,
        ),
        user=user,
    )
    session.add(MoPlan(mo_id=mo.id, so_line_id=line.id, over_plan=over, created_by=user, created_at=utcnow()))
    for link in data.purchase_orders:
        session.add(
            MoPurchaseOrder(
                mo_id=mo.id, purchase_order_id=pos[link.po_id].id, role=link.role, created_by=user
            )
        )
    session.flush()
    mark_in_production(session, so=so)
    record_change(
        session,
        entity_type="ppic.mo",
        entity_id=mo.id,
        action="plan",
        new={
            "so_line_id": line.id,
            "quantity": str(data.quantity),
            "over_plan": over,
            "purchase_orders": [x.model_dump() for x in data.purchase_orders],
        },
    )
    return mo


def _check_links(
    session: Session, links: list[PoLinkIn], *, week: str | None, destination: str | None
) -> dict[int, PurchaseOrder]:
    """The linked POs, each checked against its role (a label PO must carry the MO's week and
    destination); 422 listing every misfit."""
    pos = {
        p.id: p
        for p in session.scalars(select(PurchaseOrder).where(PurchaseOrder.id.in_({x.po_id for x in links})))
    }
    errors = []
    seen: set[int] = set()
    for i, link in enumerate(links):
        po = pos.get(link.po_id)
        where = f"purchase_orders.{i}.po_id"
        if po is None:
            errors.append({"field": where, "message": "unknown purchase order"})
        elif link.po_id in seen:
            errors.append({"field": where, "message": "linked twice"})
        elif po.state == "cancelled":
            errors.append({"field": where, "message": f"{po.number} is cancelled"})
        elif po.po_type != link.role:
            errors.append({"field": where, "message": f"{po.number} is a {po.po_type} PO, not {link.role}"})
        elif link.role == "label" and (po.week, po.destination) != (week, destination):
            errors.append(
                {
                    "field": where,
                    "message": f"{po.number} is for {po.week}/{po.destination}, the MO {week}/{destination}",
                }
            )
        seen.add(link.po_id)
    if errors:
        raise ValidationFailed("invalid purchase order links", errors=errors)
    return pos


def link_purchase_order(session: Session, *, mo_id: int, link: PoLinkIn, user: str | None = None) -> None:
    """Link one more purchase order to an MO that is not yet fully released (409 otherwise)."""
    mo = get_mo(session, mo_id=mo_id, lock=True)
    if mo.state in ("done", "cancelled") or mo.release_level == "full":
        raise Conflict(
            f"{mo.number} is {mo.state} ({mo.release_level or 'not released'}); nothing waits for POs"
        )
    if session.scalar(
        select(MoPurchaseOrder.id).where(
            MoPurchaseOrder.mo_id == mo.id, MoPurchaseOrder.purchase_order_id == link.po_id
        )
    ):
        raise Conflict(f"purchase order {link.po_id} is already linked to {mo.number}")
    _check_links(session, [link], week=mo.week, destination=mo.destination)
    session.add(MoPurchaseOrder(mo_id=mo.id, purchase_order_id=link.po_id, role=link.role, created_by=user))
    session.flush()
    record_change(session, entity_type="ppic.mo", entity_id=mo.id, action="link_po", new=link.model_dump())


# --- release --------------------------------------------------------------------------------------


def arrived_level(session: Session, *, mo_id: int) -> str | None:
    """The release the linked POs' receipts allow: ``full`` when every fabric PO (if any) and at least
    one label PO, all of them, arrived; ``partial`` when fabric POs are linked and all arrived."""
    roles: dict[str, list[bool]] = defaultdict(list)
    for role, state in session.execute(
        select(MoPurchaseOrder.role, PurchaseOrder.state)
        .join(PurchaseOrder, PurchaseOrder.id == MoPurchaseOrder.purchase_order_id)
        .where(MoPurchaseOrder.mo_id == mo_id)
    ).tuples():
        roles[role].append(state in ARRIVED)
    fabric_ok = all(roles["fabric"])
    if fabric_ok and roles["label"] and all(roles["label"]):
        return "full"
    if roles["fabric"] and fabric_ok:
        return "partial"
    return None


def release(
    session: Session,
    *,
    mo_id: int,
    level: str | None,
    trigger: str = "manual",
    force: bool = False,
    purchase_order_id: int | None = None,
    event_id: str | None = None,
    user: str | None = None,
) -> tuple[ManufacturingOrder, str | None, list[Spk]]:
    """Release an MO through production as far as its POs allow (or to ``level``).

    Returns the MO, the level released now (None when it already was that far: nothing is written) and
    the SPKs created. A manual release beyond what arrived needs ``force``; production's own rules
    (state, BOMs, department stores) still apply and refuse with 409/422.
    """
    mo = get_mo(session, mo_id=mo_id, lock=True)
    allowed = arrived_level(session, mo_id=mo.id)
    wanted = level or allowed
    if wanted is None:
        if trigger == "manual":
            raise Conflict(
                f"{mo.number}: none of its fabric or label purchase orders has arrived; name a level "
                "with force to release anyway"
            )
        return mo, None, []
    if trigger == "manual" and RANK[wanted] > RANK[allowed] and not force:
        raise Conflict(
            f"{mo.number}: the received POs allow {allowed or 'no'} release, not {wanted}; set force to "
            "release anyway"
        )
    if mo.state in ("done", "cancelled") or RANK[mo.release_level] >= RANK[wanted]:
        if trigger == "manual":
            raise Conflict(
                f"{mo.number} is {mo.state} ({mo.release_level or 'not released'}); cannot release {wanted}"
            )
        return mo, None, []
    old = {"state": mo.state, "release_level": mo.release_level}
    mo, created = release_mo(session, mo_id=mo.id, level=wanted, user=user)
    session.add(
        MoRelease(
            mo_id=mo.id,
            level=wanted,
            trigger=trigger,
            purchase_order_id=purchase_order_id,
            event_id=event_id,
            created_by=user,
            created_at=utcnow(),
        )
    )
    plan = session.scalar(select(MoPlan).where(MoPlan.mo_id == mo.id))
    if wanted == "full" and plan is not None:
        plan.schedule_locked_at = utcnow()
    session.flush()
    record_change(
        session,
        entity_type="ppic.mo",
        entity_id=mo.id,
        action="auto_release" if trigger != "manual" else "release",
        old=old,
        new={
            "level": wanted,
            "trigger": trigger,
            "forced": force and RANK[wanted] > RANK[allowed],
            "purchase_order_id": purchase_order_id,
            "event_id": event_id,
            "spks": [s.number for s in created],
            "week_destination_locked": wanted == "full",
        },
    )
    return mo, wanted, created


# --- views ----------------------------------------------------------------------------------------


def mo_view(session: Session, *, mo: ManufacturingOrder) -> dict[str, Any]:
    """Production's MO with its sales order line, lock and linked purchase orders."""
    plan = session.scalar(select(MoPlan).where(MoPlan.mo_id == mo.id))
    so_id = None
    if plan is not None:
        so_id = session.scalar(
            select(SalesOrderLine.sales_order_id).where(SalesOrderLine.id == plan.so_line_id)
        )
    links = session.execute(
        select(MoPurchaseOrder.role, PurchaseOrder)
        .join(PurchaseOrder, PurchaseOrder.id == MoPurchaseOrder.purchase_order_id)
        .where(MoPurchaseOrder.mo_id == mo.id)
        .order_by(MoPurchaseOrder.id)
    ).tuples()
    return {
        "id": mo.id,
        "number": mo.number,
        "product_id": mo.product_id,
        "quantity": mo.quantity,
        "routing": mo.routing,
        "batch_number": mo.batch_number,
        "week": mo.week,
        "destination": mo.destination,
        "planned_start": mo.planned_start,
        "planned_end": mo.planned_end,
        "state": mo.state,
        "release_level": mo.release_level,
        "so_line_id": plan.so_line_id if plan else None,
        "sales_order_id": so_id,
        "over_plan": plan.over_plan if plan else False,
        "schedule_locked": mo.release_level == "full",
        "purchase_orders": [
            {
                "po_id": po.id,
                "number": po.number,
                "po_type": po.po_type,
                "role": role,
                "state": po.state,
                "received": po.state in ARRIVED,
            }
            for role, po in links
        ],
    }


def list_planned(
    session: Session, *, so_id: int | None = None, state: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[ManufacturingOrder], int]:
    """MOs planned by PPIC, newest first, filtered by sales order and MO state."""
    stmt = select(ManufacturingOrder).join(MoPlan, MoPlan.mo_id == ManufacturingOrder.id)
    if so_id is not None:
        stmt = stmt.join(SalesOrderLine, SalesOrderLine.id == MoPlan.so_line_id).where(
            SalesOrderLine.sales_order_id == so_id
        )
    if state:
        stmt = stmt.where(ManufacturingOrder.state == state)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(ManufacturingOrder.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def is_late(*, deadline: date | None, state: str, completed_on: date | None, today: date) -> bool:
    """Late: completed after its deadline, or still open after it."""
    if deadline is None or state == "cancelled":
        return False
    if state == "completed":
        return completed_on is not None and completed_on > deadline
    return today > deadline


def progress(session: Session, *, mo_id: int) -> dict[str, Any]:
    """Per department of the routing: target, good, defect, % done, late or on track, materials short
    (what the SPK's remaining work needs beyond its reservations and its store's free stock), open debt."""
    mo = get_mo(session, mo_id=mo_id)
    today = site_today(session)
    spks = {s.department: s for s in session.scalars(select(Spk).where(Spk.mo_id == mo.id))}
    sums = {
        spk_id: (Decimal(g), Decimal(d), Decimal(r))
        for spk_id, g, d, r in session.execute(
            select(
                DailyInput.spk_id,
                func.sum(DailyInput.good),
                func.sum(DailyInput.defect),
                func.sum(DailyInput.rework),
            )
            .where(DailyInput.spk_id.in_([s.id for s in spks.values()]))
            .group_by(DailyInput.spk_id)
        ).tuples()
    }
    departments: list[dict[str, Any]] = []
    total_debt = ZERO
    for sequence, department in enumerate(ROUTINGS[mo.routing], start=1):
        spk = spks.get(department)
        if spk is None:
            departments.append(
                {
                    "department": department,
                    "sequence": sequence,
                    "spk_id": None,
                    "spk_number": None,
                    "state": "not_released",
                    "target": None,
                    "good": ZERO,
                    "defect": ZERO,
                    "rework": ZERO,
                    "percent_done": None,
                    "deadline": mo.planned_end,
                    "schedule": "not_released",
                    "materials_short": [],
                    "debt_open": ZERO,
                }
            )
            continue
        good, defect, rework = sums.get(spk.id, (ZERO, ZERO, ZERO))
        debt = sum(debt_by_spk(session, spk_id=spk.id).values(), ZERO)
        total_debt += debt
        late = is_late(
            deadline=spk.deadline,
            state=spk.state,
            completed_on=local_date(session, spk.completed_at),
            today=today,
        )
        departments.append(
            {
                "department": department,
                "sequence": sequence,
                "spk_id": spk.id,
                "spk_number": spk.number,
                "state": spk.state,
                "target": spk.target,
                "good": good,
                "defect": defect,
                "rework": rework,
                "percent_done": (good * 100 / spk.target).quantize(Decimal("0.01")),
                "deadline": spk.deadline,
                "schedule": "late" if late else "on_track",
                "materials_short": _materials_short(session, spk=spk, processed=good + defect + rework),
                "debt_open": debt,
            }
        )
    final = departments[-1]
    produced: Decimal = final["good"]
    return {
        "mo": mo_view(session, mo=mo),
        "today": today,
        "produced": produced,
        "percent_done": (produced * 100 / mo.quantity).quantize(Decimal("0.01")),
        "late": any(d["schedule"] == "late" for d in departments),
        "departments": departments,
        "debt_open": total_debt,
    }


def _materials_short(session: Session, *, spk: Spk, processed: Decimal) -> list[dict[str, Decimal | int]]:
    if spk.state in ("completed", "cancelled") or processed >= spk.target:
        return []
    bom = session.get(Bom, spk.bom_id)
    if bom is None:
        return []
    needed = requirements(session, bom=bom, quantity=spk.target - processed)
    held = reserved_open(session, spk_id=spk.id)
    free = dict(
        session.execute(
            select(StockBalance.product_id, func.sum(StockBalance.on_hand - StockBalance.reserved))
            .where(
                StockBalance.location_id == spk.store_location_id, StockBalance.product_id.in_(list(needed))
            )
            .group_by(StockBalance.product_id)
        )
        .tuples()
        .all()
    )
    out: list[dict[str, Decimal | int]] = []
    for product_id in sorted(needed):
        reserved = held.get(product_id, ZERO)
        in_store = Decimal(free.get(product_id, 0))
        short = needed[product_id] - reserved - in_store
        if short > 0:
            out.append(
                {
                    "product_id": product_id,
                    "needed": needed[product_id],
                    "reserved": reserved,
                    "free_in_store": in_store,
                    "short": short,
                }
            )
    return out
