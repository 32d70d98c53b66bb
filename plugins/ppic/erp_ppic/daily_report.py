"""The daily report: generated at 08:00 (site time) by the ``ppic.daily_report`` job, stored, listed.

It covers the production day that ended at midnight (the day before the run): input per department
with yield, SPKs started and completed that day, QC of that day, alerts raised that day by type; and
the state at generation: MOs by state, open material debt, late SPKs, open alerts by severity. A day
has one report: running the job again for it does nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from erp_production.models import ManufacturingOrder, Spk
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_ppic.dashboard import (
    alert_figures,
    debt_figures,
    department_order,
    inputs_of_day,
    late_spks_filter,
    local_midnight,
    mos_by_state,
    qc_figures,
)
from erp_ppic.models_live import Alert, DailyReport
from erp_ppic.schemas_live import DailyReportData
from kernel.clock import utcnow
from kernel.db import conflict_insert
from kernel.errors import NotFound
from kernel.site import site_of

ZERO = Decimal(0)


def _count_by_department(session: Session, column: Any, start: datetime, end: datetime) -> dict[str, int]:
    return {
        dept: int(n)
        for dept, n in session.execute(
            select(Spk.department, func.count()).where(column >= start, column < end).group_by(Spk.department)
        ).tuples()
    }


def production_of_day(session: Session, *, day: date, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Per department: the day's good, defect, rework and yield; SPKs started and completed that day."""
    start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
    inputs = inputs_of_day(session, day=day)
    started = _count_by_department(session, Spk.started_at, start, end)
    completed = _count_by_department(session, Spk.completed_at, start, end)
    departments = sorted(set(inputs) | set(started) | set(completed), key=department_order)
    rows = []
    for dept in departments:
        g, d, r = inputs.get(dept, (ZERO, ZERO, ZERO))
        total = g + d + r
        rows.append(
            {
                "department": dept,
                "good": g,
                "defect": d,
                "rework": r,
                "yield_pct": (g * 100 / total).quantize(Decimal("0.01")) if total else None,
                "spks_started": started.get(dept, 0),
                "spks_completed": completed.get(dept, 0),
            }
        )
    return rows


def build_report(session: Session, *, report_date: date, now: datetime) -> dict[str, Any]:
    """The figures of ``report_date``'s report, the state part as of ``now``."""
    tz = ZoneInfo(site_of(session).settings.timezone)
    start, end = local_midnight(report_date, tz), local_midnight(report_date + timedelta(days=1), tz)
    raised = dict(
        session.execute(
            select(Alert.type, func.count())
            .where(Alert.raised_at >= start, Alert.raised_at < end)
            .group_by(Alert.type)
        ).all()
    )
    late = session.scalar(
        select(func.count())
        .select_from(Spk)
        .join(ManufacturingOrder, ManufacturingOrder.id == Spk.mo_id)
        .where(*late_spks_filter(now.astimezone(tz).date()))
    )
    data = DailyReportData.model_validate(
        {
            "production": production_of_day(session, day=report_date, tz=tz),
            "qc": qc_figures(session, start=start, end=end),
            "alerts_raised": {k: int(v) for k, v in sorted(raised.items())},
            "mos_by_state": mos_by_state(session),
            "material_debt": debt_figures(session),
            "late_spks": int(late or 0),
            "open_alerts": alert_figures(session)["by_severity"],
        }
    )
    return data.model_dump(mode="json")


def generate_daily_report(session: Session, scheduled_for: datetime) -> DailyReport | None:
    """The ``ppic.daily_report`` job: store the report of the day before ``scheduled_for`` (site time).

    Returns the new report, or None when that day already has one (nothing is recomputed or changed).
    """
    tz = ZoneInfo(site_of(session).settings.timezone)
    report_date = scheduled_for.astimezone(tz).date() - timedelta(days=1)
    if session.scalar(select(DailyReport.id).where(DailyReport.report_date == report_date)):
        return None
    now = utcnow()
    stmt = (
        conflict_insert(session, DailyReport.__table__)
        .values(
            report_date=report_date,
            scheduled_for=scheduled_for,
            generated_at=now,
            data=build_report(session, report_date=report_date, now=now),
        )
        .on_conflict_do_nothing()
        .returning(DailyReport.__table__.c.id)
    )
    report_id = session.execute(stmt).scalar_one_or_none()
    return session.get(DailyReport, report_id) if report_id is not None else None


def daily_report_job(session: Session, scheduled_for: datetime) -> None:
    """``PeriodicJob.run`` of ``ppic.daily_report``."""
    generate_daily_report(session, scheduled_for)


def list_reports(session: Session, *, limit: int = 50, offset: int = 0) -> tuple[list[DailyReport], int]:
    """Stored reports, newest day first."""
    total = session.scalar(select(func.count()).select_from(DailyReport)) or 0
    rows = session.scalars(
        select(DailyReport).order_by(DailyReport.report_date.desc()).offset(offset).limit(limit)
    )
    return list(rows), total


def get_report(session: Session, *, report_date: date) -> DailyReport:
    """The report of ``report_date``; NotFound when none was generated."""
    report = session.scalar(select(DailyReport).where(DailyReport.report_date == report_date))
    if report is None:
        raise NotFound(f"no daily report for {report_date.isoformat()}")
    return report
