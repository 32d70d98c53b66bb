"""Manufacturing orders: create, release (creating SPKs along the routing), cancel, list.

Releasing walks the routing backwards from the MO's product: the last department's active BOM makes
the product; its WIP component is the product the department before makes; and so on. Each SPK's
target is the MO quantity plus its department's buffer (site-configurable), rounded up to a whole unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from erp_warehouse.models import Location, Product
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_production.bom import active_bom, bom_lines
from erp_production.events import MoReleased
from erp_production.models import ROUTINGS, Bom, ManufacturingOrder, Spk
from erp_production.schemas import MoIn
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.events import emit
from kernel.site import site_of

DEFAULT_BUFFERS: dict[str, Decimal] = {
    "Cutting": Decimal("10"),
    "Embroidery": Decimal("7"),
    "Subcon": Decimal("6.7"),
    "Sewing": Decimal("6.7"),
    "Finishing": Decimal("4.4"),
    "Packing": Decimal("3.3"),
}
"""Percent above the MO quantity each department plans for (DOMAIN.md); ``[plugin.production.buffers]``."""
PARTIAL_DEPARTMENTS = frozenset({"Cutting", "Embroidery"})
"""Departments a partial release (fabric received) lets start; the rest wait for the full release."""


@dataclass(frozen=True)
class Step:
    """One department of an MO's routing with the BOM it works to."""

    sequence: int
    department: str
    bom: Bom
    product_id: int
    input_product_id: int | None


def buffers(session: Session) -> dict[str, Decimal]:
    """The site's department buffers in percent (defaults of DOMAIN.md, overridden by the site file)."""
    configured = site_of(session).settings.plugin_settings("production").get("buffers", {})
    merged = dict(DEFAULT_BUFFERS)
    for department, pct in configured.items():
        merged[str(department)] = Decimal(str(pct))
    return merged


def buffered_target(session: Session, *, quantity: Decimal, department: str) -> Decimal:
    """MO quantity plus the department's buffer, rounded up to a whole unit."""
    pct = buffers(session).get(department, Decimal(0))
    return (quantity * (1 + pct / 100)).to_integral_value(rounding=ROUND_CEILING)


def department_store(session: Session, *, department: str) -> Location:
    """The active store location of a department; Conflict when none is configured."""
    store = session.scalar(
        select(Location)
        .where(
            Location.kind == "store", Location.active, func.lower(Location.department) == department.lower()
        )
        .order_by(Location.id)
        .limit(1)
    )
    if store is None:
        raise Conflict(f"no active store location for department {department}; create one in the warehouse")
    return store


def plan_steps(session: Session, *, mo: ManufacturingOrder) -> list[Step]:
    """The MO's routing as steps (first department first), each with its BOM and WIP products."""
    departments = ROUTINGS[mo.routing]
    steps: list[Step] = []
    product_id: int | None = mo.product_id
    for index in range(len(departments) - 1, -1, -1):
        department = departments[index]
        if product_id is None:
            raise ValidationFailed(
                f"the {departments[index + 1]} BOM has no WIP component, so {department} has nothing to make",
                errors=[{"field": "routing", "message": "BOM chain does not cover the routing"}],
            )
        bom = active_bom(session, product_id=product_id, department=department)
        if bom is None:
            code = session.scalar(select(Product.code).where(Product.id == product_id))
            raise ValidationFailed(
                f"no active BOM for {code} at {department}; routing {mo.routing} needs one",
                errors=[{"field": "routing", "message": f"missing BOM of {code} at {department}"}],
            )
        wip = _wip_component(session, bom)
        steps.append(Step(index + 1, department, bom, product_id, wip if index > 0 else None))
        product_id = wip
    return list(reversed(steps))


def _wip_component(session: Session, bom: Bom) -> int | None:
    components = [line.component_id for line, _ in bom_lines(session, bom_id=bom.id)]
    if not components:
        return None
    wip = session.scalar(
        select(Product.id)
        .where(Product.id.in_(components), Product.type == "wip")
        .order_by(Product.id)
        .limit(1)
    )
    return wip


def get_mo(session: Session, *, mo_id: int, lock: bool = False) -> ManufacturingOrder:
    """One MO (locked when ``lock``); NotFound when missing."""
    stmt = select(ManufacturingOrder).where(ManufacturingOrder.id == mo_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    mo = session.scalar(stmt)
    if mo is None:
        raise NotFound(f"manufacturing order {mo_id} does not exist")
    return mo


def create_mo(session: Session, *, data: MoIn, user: str | None = None) -> ManufacturingOrder:
    """Create a Draft MO; Conflict when the batch number is taken."""
    product = session.get(Product, data.product_id)
    if product is None or not product.active:
        raise ValidationFailed(
            "unknown product", errors=[{"field": "product_id", "message": "unknown or inactive"}]
        )
    if data.planned_start and data.planned_end and data.planned_end < data.planned_start:
        raise ValidationFailed(
            "planned end is before planned start",
            errors=[{"field": "planned_end", "message": "before start"}],
        )
    if session.scalar(
        select(ManufacturingOrder.id).where(ManufacturingOrder.batch_number == data.batch_number)
    ):
        raise Conflict(f"batch number {data.batch_number} is already used by another MO")
    mo = ManufacturingOrder(
        number=f"MO-TMP-{data.batch_number}"[:40], state="draft", created_by=user, **data.model_dump()
    )
    session.add(mo)
    session.flush()
    mo.number = f"MO-{mo.id:06d}"
    session.flush()
    record_change(
        session,
        entity_type="production.mo",
        entity_id=mo.id,
        action="create",
        new=data.model_dump(mode="json"),
    )
    return mo


def new_spk(
    session: Session,
    *,
    mo: ManufacturingOrder,
    step: Step,
    user: str | None,
    target: Decimal | None = None,
    deadline: object = None,
    notes: str | None = None,
) -> Spk:
    """Write the SPK of one routing step (numbered ``SPK-<id>``)."""
    store = department_store(session, department=step.department)
    spk = Spk(
        number=f"SPK-TMP-{mo.id}-{step.sequence}",
        mo_id=mo.id,
        department=step.department,
        sequence=step.sequence,
        bom_id=step.bom.id,
        product_id=step.product_id,
        input_product_id=step.input_product_id,
        store_location_id=store.id,
        target=target
        if target is not None
        else buffered_target(session, quantity=mo.quantity, department=step.department),
        deadline=deadline if deadline is not None else mo.planned_end,
        notes=notes,
        state="not_started",
        created_by=user,
    )
    session.add(spk)
    session.flush()
    spk.number = f"SPK-{spk.id:06d}"
    session.flush()
    record_change(
        session,
        entity_type="production.spk",
        entity_id=spk.id,
        action="create",
        new={"mo_id": mo.id, "department": spk.department, "target": str(spk.target)},
    )
    return spk


def release_mo(
    session: Session, *, mo_id: int, level: str = "full", user: str | None = None
) -> tuple[ManufacturingOrder, list[Spk]]:
    """Release an MO: create the SPKs of the departments this level opens, emit ``mo_released``.

    ``partial`` opens Cutting (and Embroidery); ``full`` opens every department. A partially released
    MO may be fully released later; anything else is a Conflict.
    """
    mo = get_mo(session, mo_id=mo_id, lock=True)
    if level not in ("partial", "full"):
        raise ValidationFailed(
            "level must be partial or full", errors=[{"field": "level", "message": "invalid"}]
        )
    if mo.state == "draft" or (
        mo.state in ("released", "in_progress") and mo.release_level == "partial" and level == "full"
    ):
        pass
    else:
        raise Conflict(
            f"{mo.number} is {mo.state} ({mo.release_level or 'not released'}); cannot release it {level}ly"
        )
    steps = plan_steps(session, mo=mo)
    existing = set(session.scalars(select(Spk.department).where(Spk.mo_id == mo.id)))
    created = [
        new_spk(session, mo=mo, step=step, user=user)
        for step in steps
        if step.department not in existing and (level == "full" or step.department in PARTIAL_DEPARTMENTS)
    ]
    old = {"state": mo.state, "release_level": mo.release_level}
    if mo.state == "draft":
        mo.state = "released"
        mo.released_at = utcnow()
    mo.release_level = level
    session.flush()
    record_change(
        session,
        entity_type="production.mo",
        entity_id=mo.id,
        action="release",
        old=old,
        new={"state": mo.state, "release_level": level, "spks": [s.number for s in created]},
    )
    emit(
        session,
        "mo_released",
        MoReleased(
            mo_id=mo.id,
            mo_number=mo.number,
            product_id=mo.product_id,
            quantity=str(mo.quantity),
            batch_number=mo.batch_number,
            level=level,
            spk_ids=[s.id for s in created],
        ),
        aggregate=f"mo:{mo.id}",
    )
    return mo, created


def cancel_mo(session: Session, *, mo_id: int, user: str | None = None) -> ManufacturingOrder:
    """Cancel an MO none of whose SPKs has started; its SPKs are cancelled and reservations released."""
    from erp_production.allocation import release_allocations

    mo = get_mo(session, mo_id=mo_id, lock=True)
    if mo.state not in ("draft", "released"):
        raise Conflict(
            f"{mo.number} is {mo.state}; only a draft or released MO that has not started can be cancelled"
        )
    spks = list(session.scalars(select(Spk).where(Spk.mo_id == mo.id).with_for_update()))
    if any(s.state != "not_started" for s in spks):
        raise Conflict(f"{mo.number} has SPKs in progress; it cannot be cancelled")
    for spk in spks:
        release_allocations(session, spk=spk)
        spk.state = "cancelled"
    mo.state = "cancelled"
    session.flush()
    record_change(
        session, entity_type="production.mo", entity_id=mo.id, action="cancel", new={"state": "cancelled"}
    )
    return mo


def list_mos(
    session: Session,
    *,
    state: str | None = None,
    department: str | None = None,
    week: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ManufacturingOrder], int]:
    """MOs, newest first; ``department`` keeps those with an SPK in that department."""
    stmt = select(ManufacturingOrder)
    if state:
        stmt = stmt.where(ManufacturingOrder.state == state)
    if week:
        stmt = stmt.where(ManufacturingOrder.week == week)
    if department:
        stmt = stmt.where(ManufacturingOrder.id.in_(select(Spk.mo_id).where(Spk.department == department)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(ManufacturingOrder.id.desc()).offset(offset).limit(limit))
    return list(rows), total
