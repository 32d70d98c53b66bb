"""The real-time dashboard: every figure is one aggregate query over the other plugins' tables.

- MOs by state;
- per department: SPKs in progress, their target and good output so far, and today's input (good,
  defect, rework of every SPK of the department dated today, site time zone);
- QC today and this ISO week (Monday to today): completed inspections, units inspected / passed /
  reworked / scrapped, pass rate = (inspected - scrap) / inspected (quality's rule);
- open material debt (pending or approved, unsettled part): count and value;
- shortages: active products whose total stock on hand is below their minimum stock (the warehouse's
  "below minimum" rule), with how much is missing;
- late SPKs: not completed or cancelled, past their deadline (else their MO's planned end);
- open alerts (pending or acknowledged) by severity, and the open critical ones.

``dashboard_changed`` is how a change reaches WebSocket clients: a message on the realtime channel
after commit; each API process then recomputes the dashboard once for all its clients (``ws.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from erp_production.debt import OPEN_STATES as DEBT_OPEN_STATES
from erp_production.models import MO_STATES, DailyInput, ManufacturingOrder, MaterialDebt, Spk
from erp_quality.models import Inspection
from erp_warehouse.models import Product, StockBalance
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from erp_ppic.models_live import OPEN_STATUSES, SEVERITIES, Alert
from kernel.clock import utcnow
from kernel.rbac import PRODUCTION_DEPARTMENTS
from kernel.realtime import get_broadcaster, publish_after_commit
from kernel.site import site_of

ZERO = Decimal(0)
CHANNEL = "ppic.dashboard"
LIST_LIMIT = 50
"""Longest list (shortages, late SPKs) the dashboard carries; the counts are always complete."""
_PENDING_KEY = "ppic_dashboard_changed"
LATE_STATES = ("not_started", "in_progress")


def late_spk_due() -> ColumnElement[Any]:
    """When an SPK is due: its own deadline, else its MO's planned end (None: never late)."""
    return func.coalesce(Spk.deadline, ManufacturingOrder.planned_end)


def late_spks_filter(today: date) -> list[ColumnElement[bool]]:
    """The one rule for a late SPK (dashboard and alerts): not completed or cancelled, of a live MO,
    due before ``today``."""
    return [
        Spk.state.in_(LATE_STATES),
        ManufacturingOrder.state != "cancelled",
        late_spk_due() < today,
    ]


def dashboard_changed(session: Session, *, reason: str) -> None:
    """Tell every API process, once ``session`` commits, that dashboard figures changed (once per
    transaction however often it is called)."""
    if session.info.get(_PENDING_KEY):
        return
    session.info[_PENDING_KEY] = True
    publish_after_commit(
        session,
        get_broadcaster(site_of(session)),
        CHANNEL,
        {"reason": reason, "at": utcnow().isoformat()},
    )

    # publish_after_commit drops its queue on rollback; forget the flag with it either way.
    def clear(sess: Session) -> None:
        sess.info.pop(_PENDING_KEY, None)

    event.listen(session, "after_commit", clear, once=True)
    event.listen(session, "after_rollback", clear, once=True)


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part * 100 / whole).quantize(Decimal("0.01")) if whole else None


def mos_by_state(session: Session) -> dict[str, int]:
    """Number of MOs in each state (every state present, zero when none)."""
    counts: dict[str, int] = dict(
        session.execute(
            select(ManufacturingOrder.state, func.count()).group_by(ManufacturingOrder.state)
        ).all()
    )
    return {state: int(counts.get(state, 0)) for state in MO_STATES}


def department_order(department: str) -> tuple[int, str]:
    """Sort key: production's flow order (kernel ``PRODUCTION_DEPARTMENTS``), unknown names last."""
    if department in PRODUCTION_DEPARTMENTS:
        return PRODUCTION_DEPARTMENTS.index(department), department
    return len(PRODUCTION_DEPARTMENTS), department


def inputs_of_day(session: Session, *, day: date) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """Per department: the summed good, defect and rework of the daily inputs dated ``day``."""
    return {
        dept: (Decimal(g), Decimal(d), Decimal(r))
        for dept, g, d, r in session.execute(
            select(
                Spk.department,
                func.sum(DailyInput.good),
                func.sum(DailyInput.defect),
                func.sum(DailyInput.rework),
            )
            .join(Spk, Spk.id == DailyInput.spk_id)
            .where(DailyInput.work_date == day)
            .group_by(Spk.department)
        ).tuples()
    }


def department_figures(session: Session, *, day: date) -> list[dict[str, Any]]:
    """Per department: SPKs in progress, their target and good so far, and the day's input."""
    in_progress = select(Spk.id).where(Spk.state == "in_progress")
    good_per_spk = (
        select(DailyInput.spk_id, func.sum(DailyInput.good).label("good"))
        .where(DailyInput.spk_id.in_(in_progress))
        .group_by(DailyInput.spk_id)
        .subquery()
    )
    running = {
        dept: (int(n), Decimal(target), Decimal(good))
        for dept, n, target, good in session.execute(
            select(
                Spk.department,
                func.count(),
                func.sum(Spk.target),
                func.coalesce(func.sum(good_per_spk.c.good), 0),
            )
            .outerjoin(good_per_spk, good_per_spk.c.spk_id == Spk.id)
            .where(Spk.state == "in_progress")
            .group_by(Spk.department)
        ).tuples()
    }
    of_day = inputs_of_day(session, day=day)
    departments = sorted(set(running) | set(of_day), key=department_order)
    rows = []
    for dept in departments:
        n, target, good = running.get(dept, (0, ZERO, ZERO))
        g, d, r = of_day.get(dept, (ZERO, ZERO, ZERO))
        rows.append(
            {
                "department": dept,
                "spks_in_progress": n,
                "target": target,
                "good_to_date": good,
                "percent_done": _pct(good, target),
                "good_today": g,
                "defect_today": d,
                "rework_today": r,
            }
        )
    return rows


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of ``day`` in the site's time zone."""
    return datetime.combine(day, time.min, tzinfo=tz)


def _qc_columns(period: ColumnElement[bool]) -> list[Any]:
    return [
        func.count().filter(period),
        func.count().filter(period, Inspection.status == "failed"),
        func.coalesce(func.sum(Inspection.inspected_qty).filter(period), 0),
        func.coalesce(func.sum(Inspection.pass_qty).filter(period), 0),
        func.coalesce(func.sum(Inspection.rework_qty).filter(period), 0),
        func.coalesce(func.sum(Inspection.scrap_qty).filter(period), 0),
    ]


def _qc_result(row: Sequence[Any]) -> dict[str, Any]:
    inspected, scrap = Decimal(row[2]), Decimal(row[5])
    return {
        "inspections": int(row[0]),
        "failed": int(row[1]),
        "inspected": inspected,
        "passed": Decimal(row[3]),
        "rework": Decimal(row[4]),
        "scrap": scrap,
        "pass_rate": _pct(inspected - scrap, inspected),
    }


def qc_periods(session: Session, *, periods: Sequence[tuple[datetime, datetime]]) -> list[dict[str, Any]]:
    """Completed inspections with ``start <= inspected_at < end`` per period (one query): counts, units
    and the pass rate (inspected - scrap) / inspected."""
    columns = []
    for start, end in periods:
        columns += _qc_columns((Inspection.inspected_at >= start) & (Inspection.inspected_at < end))
    row = session.execute(
        select(*columns).where(
            Inspection.status != "pending",
            Inspection.inspected_at >= min(p[0] for p in periods),
            Inspection.inspected_at < max(p[1] for p in periods),
        )
    ).one()
    return [_qc_result(row[6 * i : 6 * i + 6]) for i in range(len(periods))]


def qc_figures(session: Session, *, start: datetime, end: datetime) -> dict[str, Any]:
    """Completed inspections with ``start <= inspected_at < end``: counts and the pass rate."""
    return qc_periods(session, periods=[(start, end)])[0]


def debt_figures(session: Session) -> dict[str, Any]:
    """Open material debt: how many (pending approval, approved) and the unsettled value."""
    pending, approved, value = session.execute(
        select(
            func.count().filter(MaterialDebt.state == "pending"),
            func.count().filter(MaterialDebt.state == "approved"),
            func.coalesce(
                func.sum((MaterialDebt.quantity - MaterialDebt.settled_qty) * MaterialDebt.unit_value), 0
            ),
        ).where(MaterialDebt.state.in_(DEBT_OPEN_STATES))
    ).one()
    return {
        "open": int(pending) + int(approved),
        "pending": int(pending),
        "approved": int(approved),
        "value": Decimal(value or 0),
    }


def shortage_figures(session: Session) -> dict[str, Any]:
    """Active products whose total on hand is below their minimum stock (most missing first)."""
    totals = (
        select(StockBalance.product_id, func.sum(StockBalance.on_hand).label("on_hand"))
        .group_by(StockBalance.product_id)
        .subquery()
    )
    on_hand = func.coalesce(totals.c.on_hand, ZERO)
    rows = session.execute(
        select(
            Product.id,
            Product.code,
            Product.name,
            on_hand.label("on_hand"),
            Product.min_stock,
            func.count().over().label("total"),
        )
        .outerjoin(totals, totals.c.product_id == Product.id)
        .where(Product.active.is_(True), on_hand < Product.min_stock)
        .order_by((Product.min_stock - on_hand).desc(), Product.code)
        .limit(LIST_LIMIT)
    ).all()
    return {
        "count": int(rows[0][5]) if rows else 0,
        "items": [
            {
                "product_id": pid,
                "code": code,
                "name": name,
                "on_hand": Decimal(have),
                "min_stock": Decimal(minimum),
                "missing": Decimal(minimum) - Decimal(have),
            }
            for pid, code, name, have, minimum, _ in rows
        ],
    }


def late_spk_figures(session: Session, *, today: date) -> dict[str, Any]:
    """SPKs late at ``today`` (the alerts' rule), most overdue first, with their good output so far."""
    due = late_spk_due().label("due")
    good = (
        select(func.coalesce(func.sum(DailyInput.good), 0))
        .where(DailyInput.spk_id == Spk.id)
        .correlate(Spk)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Spk.id,
            Spk.number,
            ManufacturingOrder.number,
            Spk.department,
            Spk.state,
            due,
            Spk.target,
            good.label("good"),
            func.count().over().label("total"),
        )
        .join(ManufacturingOrder, ManufacturingOrder.id == Spk.mo_id)
        .where(*late_spks_filter(today))
        .order_by(due, Spk.id)
        .limit(LIST_LIMIT)
    ).all()
    return {
        "count": int(rows[0][8]) if rows else 0,
        "items": [
            {
                "spk_id": spk_id,
                "number": number,
                "mo_number": mo_number,
                "department": dept,
                "state": state,
                "due": due_date,
                "days_late": (today - due_date).days,
                "target": Decimal(target),
                "good": Decimal(done),
            }
            for spk_id, number, mo_number, dept, state, due_date, target, done, _ in rows
        ],
    }


def alert_figures(session: Session) -> dict[str, Any]:
    """Open alerts by severity and status, and the open critical ones (newest first)."""
    counts = session.execute(
        select(Alert.severity, Alert.status, func.count())
        .where(Alert.status.in_(OPEN_STATUSES))
        .group_by(Alert.severity, Alert.status)
    ).all()
    by_severity = dict.fromkeys(SEVERITIES, 0)
    by_status = dict.fromkeys(OPEN_STATUSES, 0)
    for severity, status, n in counts:
        by_severity[severity] += n
        by_status[status] += n
    critical = session.scalars(
        select(Alert)
        .where(Alert.status.in_(OPEN_STATUSES), Alert.severity == "critical")
        .order_by(Alert.raised_at.desc(), Alert.id.desc())
        .limit(LIST_LIMIT)
    )
    return {
        "open": sum(by_severity.values()),
        "by_severity": by_severity,
        "by_status": by_status,
        "critical": [
            {
                "id": a.id,
                "type": a.type,
                "title": a.title,
                "department": a.department,
                "status": a.status,
                "escalation_level": a.escalation_level,
                "raised_at": a.raised_at,
            }
            for a in critical
        ],
    }


def compute_dashboard(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """The whole dashboard as of ``now`` (default: the current time), in the site's time zone."""
    now = now or utcnow()
    tz = ZoneInfo(site_of(session).settings.timezone)
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    tomorrow = local_midnight(today + timedelta(days=1), tz)
    year, week, _ = today.isocalendar()
    return {
        "as_of": now,
        "today": today,
        "week": f"W{week:02d}-{year}",
        "mos_by_state": mos_by_state(session),
        "departments": department_figures(session, day=today),
        "qc": dict(
            zip(
                ("today", "week"),
                qc_periods(
                    session,
                    periods=[(local_midnight(today, tz), tomorrow), (local_midnight(monday, tz), tomorrow)],
                ),
                strict=True,
            )
        ),
        "material_debt": debt_figures(session),
        "shortages": shortage_figures(session),
        "late_spks": late_spk_figures(session, today=today),
        "alerts": alert_figures(session),
    }
