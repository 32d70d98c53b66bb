"""Daily production input: one entry per SPK and date, backflush of materials, good output to stock.

Everything happens under the SPK's row lock, so concurrent inputs on one SPK serialise and the
cumulative totals, the consumption and the stock stay exact. Backflush keeps "consumed = per-unit
requirement x units processed" after every entry (a correction that lowers output returns material).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pluggy
from erp_warehouse.models import Location
from erp_warehouse.quantities import round_quantity
from erp_warehouse.stock import MoveLine, post_stock_move
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_production.allocation import consumed, free_lots, open_reservations
from erp_production.bom import unit_requirements
from erp_production.events import DailyInputPosted
from erp_production.models import Bom, Consumption, DailyInput, Spk
from erp_production.spk import Totals, check_department, finish, get_spk, possible_output, start_spk, totals
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, ValidationFailed
from kernel.events import emit
from kernel.site import site_of

ZERO = Decimal(0)


def site_today(session: Session) -> date:
    """Today in the site's time zone (the factory's calendar day)."""
    return utcnow().astimezone(ZoneInfo(site_of(session).settings.timezone)).date()


def production_location(session: Session) -> int:
    """The virtual location materials are consumed into and output comes from."""
    loc = session.scalar(
        select(Location.id)
        .where(Location.kind == "production", Location.active)
        .order_by(Location.id)
        .limit(1)
    )
    if loc is None:
        raise Conflict("no active production location is configured; create one in the warehouse")
    return loc


def _check_values(work_date: date, good: Decimal, defect: Decimal, rework: Decimal, today: date) -> None:
    errors = []
    if work_date > today:
        errors.append({"field": "work_date", "message": f"must not be in the future (today is {today})"})
    for name, value in (("good", good), ("defect", defect), ("rework", rework)):
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            errors.append({"field": name, "message": "must be a non-negative decimal"})
        elif value != round_quantity(value):
            errors.append({"field": name, "message": "at most 4 decimal places"})
    if errors:
        raise ValidationFailed("invalid daily input", errors=errors)


def post_daily_input(
    session: Session,
    *,
    hooks: pluggy.HookRelay,
    spk_id: int,
    work_date: date,
    good: Decimal,
    defect: Decimal = ZERO,
    rework: Decimal = ZERO,
    user: str | None = None,
    department: str | None = None,
) -> tuple[DailyInput, bool]:
    """Record (or correct) an SPK's output of one day; returns the entry and whether it was a correction.

    Refuses (nothing written): a future date or negative quantity (422), cumulative output beyond what
    the SPK could produce (422), an SPK that is completed or cancelled (409). Starts a not-started SPK
    (start rule applies), backflushes materials, posts good output into the store, and completes the
    SPK when good output reaches its target.
    """
    _check_values(work_date, good, defect, rework, site_today(session))
    spk = get_spk(session, spk_id=spk_id, lock=True)
    check_department(spk, department)
    if spk.state in ("completed", "cancelled"):
        raise Conflict(
            f"{spk.number} is {spk.state}; its daily inputs are locked (an approved edit is needed)"
        )
    before = totals(session, spk_id=spk.id)
    entry = session.scalar(
        select(DailyInput)
        .where(DailyInput.spk_id == spk.id, DailyInput.work_date == work_date)
        .with_for_update()
    )
    old = (entry.good, entry.defect, entry.rework) if entry is not None else (ZERO, ZERO, ZERO)
    after = Totals(
        before.good - old[0] + good, before.defect - old[1] + defect, before.rework - old[2] + rework
    )
    possible = possible_output(session, spk=spk)
    if after.produced > possible:
        what = "its target" if spk.sequence == 1 else "the input WIP received"
        raise ValidationFailed(
            f"{spk.number}: cumulative output {after.produced} (good + defect + rework) would exceed "
            f"{possible}, "
            f"{what}; nothing was recorded",
            errors=[{"field": "good", "message": f"cumulative output may not exceed {possible}"}],
        )
    if spk.state == "not_started":
        start_spk(session, spk_id=spk.id, user=user)
    now = utcnow()
    corrected = entry is not None
    if entry is None:
        entry = DailyInput(
            spk_id=spk.id,
            work_date=work_date,
            good=good,
            defect=defect,
            rework=rework,
            entered_by=user,
            created_at=now,
            updated_at=now,
            corrections=0,
        )
        session.add(entry)
    else:
        entry.good, entry.defect, entry.rework = good, defect, rework
        entry.entered_by, entry.updated_at = user, now
        entry.corrections += 1
    session.flush()
    record_change(
        session,
        entity_type="production.daily_input",
        entity_id=entry.id,
        action="correct" if corrected else "create",
        old={"good": str(old[0]), "defect": str(old[1]), "rework": str(old[2])} if corrected else None,
        new={
            "spk": spk.number,
            "date": work_date.isoformat(),
            "good": str(good),
            "defect": str(defect),
            "rework": str(rework),
        },
    )
    _backflush(session, hooks, spk, entry, after.produced, user)
    _post_output(session, hooks, spk, after.good - before.good, user)
    emit(
        session,
        "daily_input_posted",
        DailyInputPosted(
            daily_input_id=entry.id,
            spk_id=spk.id,
            spk_number=spk.number,
            mo_id=spk.mo_id,
            department=spk.department,
            work_date=work_date.isoformat(),
            good=str(good),
            defect=str(defect),
            rework=str(rework),
            corrected=corrected,
        ),
        aggregate=f"spk:{spk.id}",
    )
    if after.good >= spk.target and spk.state == "in_progress":
        finish(session, spk=spk, user=user)
    return entry, corrected


def _backflush(
    session: Session,
    hooks: pluggy.HookRelay,
    spk: Spk,
    entry: DailyInput,
    produced: Decimal,
    user: str | None,
) -> None:
    bom = session.get(Bom, spk.bom_id)
    assert bom is not None
    per_unit = unit_requirements(session, bom=bom)
    used = consumed(session, spk_id=spk.id)
    production = production_location(session)
    out_lines: list[MoveLine] = []
    back_lines: list[MoveLine] = []
    deltas: dict[int, Decimal] = {}
    reservations = open_reservations(session, spk_id=spk.id)
    for product_id in sorted(per_unit):
        delta = round_quantity(per_unit[product_id] * produced) - used.get(product_id, ZERO)
        if delta == 0:
            continue
        deltas[product_id] = delta
        if delta < 0:
            back_lines.append(MoveLine(product_id, production, spk.store_location_id, -delta))
            continue
        need = delta
        for r in reservations.get(product_id, []):
            take = min(need, r.quantity)
            if take > 0:
                out_lines.append(
                    MoveLine(product_id, spk.store_location_id, production, take, r.lot_id, r.id)
                )
                need -= take
        tail = ZERO  # lot-less free stock plus whatever nobody has: one line, whose shortfall becomes debt
        for lot_id, free in free_lots(session, product_id=product_id, location_id=spk.store_location_id):
            if need <= 0:
                break
            take = min(need, free)
            if lot_id is None:
                tail += take
            else:
                out_lines.append(MoveLine(product_id, spk.store_location_id, production, take, lot_id))
            need -= take
        if tail + need > 0:
            out_lines.append(MoveLine(product_id, spk.store_location_id, production, tail + need))
    move_ids: dict[int, int] = {}
    if out_lines:
        moved = post_stock_move(
            session,
            hooks=hooks,
            lines=out_lines,
            reference=spk.number,
            user=user,
            note=f"backflush {entry.work_date.isoformat()}",
        )
        move_ids.update({line.product_id: moved.move_id for line in out_lines})
    if back_lines:
        moved = post_stock_move(
            session,
            hooks=hooks,
            lines=back_lines,
            reference=spk.number,
            user=user,
            note=f"correction {entry.work_date.isoformat()}",
            allow_shortfall=False,
        )
        move_ids.update({line.product_id: moved.move_id for line in back_lines})
    for product_id, delta in deltas.items():
        session.add(
            Consumption(
                spk_id=spk.id,
                daily_input_id=entry.id,
                product_id=product_id,
                quantity=delta,
                move_id=move_ids.get(product_id),
            )
        )
    session.flush()


def _post_output(
    session: Session, hooks: pluggy.HookRelay, spk: Spk, delta: Decimal, user: str | None
) -> None:
    if delta == 0:
        return
    production = production_location(session)
    line = (
        MoveLine(spk.product_id, production, spk.store_location_id, delta)
        if delta > 0
        else MoveLine(spk.product_id, spk.store_location_id, production, -delta)
    )
    post_stock_move(
        session,
        hooks=hooks,
        lines=[line],
        reference=spk.number,
        user=user,
        note="good output",
        allow_shortfall=False,
    )


def list_inputs(session: Session, *, spk_id: int) -> list[DailyInput]:
    """An SPK's daily inputs by date."""
    return list(
        session.scalars(select(DailyInput).where(DailyInput.spk_id == spk_id).order_by(DailyInput.work_date))
    )
