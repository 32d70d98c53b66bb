"""SPKs: create, start (only after the previous department delivered WIP), complete, deliver WIP.

States: not_started -> in_progress -> completed, or cancelled (with its MO). WIP reaches an SPK through a
warehouse transfer whose ``reference`` is that SPK's number; the SPK may start once one such transfer
was accepted into its store (or when it is the first of its MO).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pluggy
from erp_warehouse.models import Transfer
from erp_warehouse.transfers import send_transfer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_production.events import SpkCompleted, SpkStarted
from erp_production.mo import get_mo, new_spk, plan_steps
from erp_production.models import ROUTINGS, DailyInput, ManufacturingOrder, Spk
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kernel.events import emit

ZERO = Decimal(0)


@dataclass(frozen=True)
class Totals:
    """Cumulative output of an SPK."""

    good: Decimal
    defect: Decimal
    rework: Decimal

    @property
    def produced(self) -> Decimal:
        """Units processed out of input (good, defect and rework all used input and materials)."""
        return self.good + self.defect + self.rework


def get_spk(session: Session, *, spk_id: int, lock: bool = False, department: str | None = None) -> Spk:
    """One SPK (locked when ``lock``); NotFound when missing or outside ``department`` (scoped callers)."""
    stmt = select(Spk).where(Spk.id == spk_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    spk = session.scalar(stmt)
    if spk is None or (department is not None and spk.department != department):
        raise NotFound(f"SPK {spk_id} does not exist")
    return spk


def check_department(spk: Spk, department: str | None) -> None:
    """PermissionDenied when a department-scoped caller acts on another department's SPK."""
    if department is not None and spk.department != department:
        raise PermissionDenied(f"{spk.number} belongs to {spk.department}; you act only for {department}")


def list_spks(
    session: Session,
    *,
    mo_id: int | None = None,
    department: str | None = None,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Spk], int]:
    """SPKs filtered by MO, department and state (newest MO first, then sequence)."""
    stmt = select(Spk)
    if mo_id is not None:
        stmt = stmt.where(Spk.mo_id == mo_id)
    if department:
        stmt = stmt.where(Spk.department == department)
    if state:
        stmt = stmt.where(Spk.state == state)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Spk.mo_id.desc(), Spk.sequence).offset(offset).limit(limit))
    return list(rows), total


def create_spk(
    session: Session,
    *,
    mo_id: int,
    department: str,
    target: Decimal | None = None,
    deadline: date | None = None,
    notes: str | None = None,
    user: str | None = None,
) -> Spk:
    """Create the SPK of one routing department of a released MO (at most one per department)."""
    mo = get_mo(session, mo_id=mo_id, lock=True)
    if mo.state not in ("released", "in_progress"):
        raise Conflict(f"{mo.number} is {mo.state}; SPKs are created for a released MO")
    if department not in ROUTINGS[mo.routing]:
        raise ValidationFailed(
            f"{department} is not on {mo.routing} ({' -> '.join(ROUTINGS[mo.routing])})",
            errors=[{"field": "department", "message": "not on the MO's routing"}],
        )
    if session.scalar(select(Spk.id).where(Spk.mo_id == mo.id, Spk.department == department)):
        raise Conflict(f"{mo.number} already has an SPK for {department}")
    if deadline is not None and deadline < utcnow().date():
        raise ValidationFailed(
            "the deadline is in the past", errors=[{"field": "deadline", "message": "past"}]
        )
    step = next(s for s in plan_steps(session, mo=mo) if s.department == department)
    return new_spk(session, mo=mo, step=step, user=user, target=target, deadline=deadline, notes=notes)


def totals(session: Session, *, spk_id: int) -> Totals:
    """Cumulative good, defect and rework of an SPK (summed from its daily inputs)."""
    row = session.execute(
        select(
            func.coalesce(func.sum(DailyInput.good), 0),
            func.coalesce(func.sum(DailyInput.defect), 0),
            func.coalesce(func.sum(DailyInput.rework), 0),
        ).where(DailyInput.spk_id == spk_id)
    ).one()
    return Totals(Decimal(row[0]), Decimal(row[1]), Decimal(row[2]))


def received_input(session: Session, *, spk: Spk) -> Decimal:
    """Input WIP accepted into the SPK's store by transfers referencing the SPK."""
    total = session.scalar(
        select(func.coalesce(func.sum(Transfer.received_qty), 0)).where(
            Transfer.reference == spk.number,
            Transfer.state == "accepted",
            Transfer.to_location_id == spk.store_location_id,
        )
    )
    return Decimal(total or 0)


def possible_output(session: Session, *, spk: Spk) -> Decimal:
    """The most the SPK can produce: its target when first on the routing, else the input WIP received."""
    if spk.sequence == 1 or spk.input_product_id is None:
        return spk.target
    return received_input(session, spk=spk)


def start_spk(
    session: Session, *, spk_id: int, user: str | None = None, department: str | None = None
) -> Spk:
    """Start an SPK: allowed when it is the first of its MO or WIP was delivered to it."""
    spk = get_spk(session, spk_id=spk_id, lock=True)
    check_department(spk, department)
    if spk.state == "in_progress":
        return spk
    if spk.state != "not_started":
        raise Conflict(f"{spk.number} is {spk.state}; only a not-started SPK can start")
    ensure_startable(session, spk=spk)
    spk.state = "in_progress"
    spk.started_at = utcnow()
    mo = get_mo(session, mo_id=spk.mo_id, lock=True)
    if mo.state == "released":
        mo.state = "in_progress"
    session.flush()
    record_change(
        session, entity_type="production.spk", entity_id=spk.id, action="start", new={"state": spk.state}
    )
    emit(
        session,
        "spk_started",
        SpkStarted(
            spk_id=spk.id,
            spk_number=spk.number,
            mo_id=spk.mo_id,
            department=spk.department,
            product_id=spk.product_id,
            target=str(spk.target),
        ),
        aggregate=f"spk:{spk.id}",
    )
    return spk


def ensure_startable(session: Session, *, spk: Spk) -> None:
    """Conflict unless the SPK is first of its MO or an accepted transfer delivered WIP to it."""
    if spk.sequence == 1:
        return
    if received_input(session, spk=spk) <= 0:
        previous = session.scalar(
            select(Spk.number).where(Spk.mo_id == spk.mo_id, Spk.sequence == spk.sequence - 1)
        )
        raise Conflict(
            f"{spk.number} cannot start: the previous department's SPK ({previous or 'not created yet'}) "
            "has not "
            "delivered WIP to it yet (no transfer referencing it was accepted into its store)"
        )


def complete_spk(
    session: Session, *, spk_id: int, user: str | None = None, department: str | None = None
) -> Spk:
    """Complete an SPK: lock its inputs, release unused reservations, emit ``spk_completed``."""
    spk = get_spk(session, spk_id=spk_id, lock=True)
    check_department(spk, department)
    return finish(session, spk=spk, user=user)


def finish(session: Session, *, spk: Spk, user: str | None) -> Spk:
    """Complete a locked SPK (shared by the explicit route and completion by output)."""
    from erp_production.allocation import release_allocations

    if spk.state != "in_progress":
        raise Conflict(f"{spk.number} is {spk.state}; only an SPK in progress can be completed")
    release_allocations(session, spk=spk)
    t = totals(session, spk_id=spk.id)
    spk.state = "completed"
    spk.completed_at = utcnow()
    mo = get_mo(session, mo_id=spk.mo_id, lock=True)
    remaining = session.scalar(
        select(func.count(Spk.id)).where(
            Spk.mo_id == mo.id, Spk.id != spk.id, Spk.state.not_in(("completed", "cancelled"))
        )
    )
    if (
        mo.release_level == "full"
        and not remaining
        and len(ROUTINGS[mo.routing]) == session.scalar(select(func.count(Spk.id)).where(Spk.mo_id == mo.id))
    ):
        mo.state = "done"
        mo.done_at = utcnow()
    session.flush()
    record_change(
        session,
        entity_type="production.spk",
        entity_id=spk.id,
        action="complete",
        new={"state": "completed", "good": str(t.good), "defect": str(t.defect), "rework": str(t.rework)},
    )
    emit(
        session,
        "spk_completed",
        SpkCompleted(
            spk_id=spk.id,
            spk_number=spk.number,
            mo_id=mo.id,
            mo_number=mo.number,
            department=spk.department,
            product_id=spk.product_id,
            good=str(t.good),
            defect=str(t.defect),
            rework=str(t.rework),
            target=str(spk.target),
            batch_number=mo.batch_number,
        ),
        aggregate=f"spk:{spk.id}",
    )
    return spk


def next_spk(session: Session, *, spk: Spk) -> Spk | None:
    """The SPK after this one on the MO's routing, if created."""
    return session.scalar(select(Spk).where(Spk.mo_id == spk.mo_id, Spk.sequence == spk.sequence + 1))


def deliver_wip(
    session: Session,
    *,
    hooks: pluggy.HookRelay,
    spk_id: int,
    quantity: Decimal,
    user: str | None = None,
    department: str | None = None,
) -> Transfer:
    """Send ``quantity`` of the SPK's output from its store to the next SPK's store (a warehouse transfer
    referencing the next SPK; it counts as delivered once the receiving department accepts it)."""
    spk = get_spk(session, spk_id=spk_id, lock=True)
    check_department(spk, department)
    if spk.state not in ("in_progress", "completed"):
        raise Conflict(f"{spk.number} is {spk.state}; it has no output to deliver")
    target = next_spk(session, spk=spk)
    if target is None:
        raise Conflict(f"{spk.number} is the last SPK of its MO (or the next one is not created yet)")
    mo = session.get(ManufacturingOrder, spk.mo_id)
    assert mo is not None
    return send_transfer(
        session,
        hooks=hooks,
        product_id=spk.product_id,
        from_location_id=spk.store_location_id,
        to_location_id=target.store_location_id,
        quantity=quantity,
        destination=mo.destination,
        reference=target.number,
        note=f"{spk.number} -> {target.number}",
        user=user,
    )


def find_spk_by_number(session: Session, *, number: str) -> Spk | None:
    """The SPK with this number (stock moves reference SPKs by number)."""
    if not number.startswith("SPK-"):
        return None
    return session.scalar(select(Spk).where(Spk.number == number))


def spk_not_found(spk_id: int) -> NotFound:
    """The one NotFound for SPKs."""
    return NotFound(f"SPK {spk_id} does not exist")
