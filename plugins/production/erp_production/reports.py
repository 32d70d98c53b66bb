"""Progress of one SPK and the production summary (by department, day, week or MO; CSV export)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_production.allocation import allocated_total, consumed, reserved_open, spk_requirements
from erp_production.debt import debt_by_spk
from erp_production.models import DailyInput, ManufacturingOrder, Spk
from erp_production.spk import check_department, get_spk, possible_output
from kernel.errors import ValidationFailed

ZERO = Decimal(0)
GROUPS = ("department", "day", "week", "mo")


def spk_progress(session: Session, *, spk_id: int, department: str | None = None) -> dict[str, Any]:
    """Target, cumulative good/defect/rework by day, percent done, materials allocated vs consumed, debt."""
    spk = get_spk(session, spk_id=spk_id)
    check_department(spk, department)
    days, running = [], ZERO
    good = defect = rework = ZERO
    for entry in session.scalars(
        select(DailyInput).where(DailyInput.spk_id == spk.id).order_by(DailyInput.work_date)
    ):
        running += entry.good
        good, defect, rework = good + entry.good, defect + entry.defect, rework + entry.rework
        days.append(
            {
                "work_date": entry.work_date,
                "good": entry.good,
                "defect": entry.defect,
                "rework": entry.rework,
                "cumulative_good": running,
            }
        )
    required = spk_requirements(session, spk=spk)
    allocated = allocated_total(session, spk_id=spk.id)
    held = reserved_open(session, spk_id=spk.id)
    used = consumed(session, spk_id=spk.id)
    owed = debt_by_spk(session, spk_id=spk.id)
    materials = [
        {
            "product_id": p,
            "required": required.get(p, ZERO),
            "allocated": allocated.get(p, ZERO),
            "reserved_open": held.get(p, ZERO),
            "consumed": used.get(p, ZERO),
            "debt": owed.get(p, ZERO),
        }
        for p in sorted(set(required) | set(allocated) | set(used) | set(owed))
    ]
    return {
        "spk_id": spk.id,
        "state": spk.state,
        "target": spk.target,
        "good": good,
        "defect": defect,
        "rework": rework,
        "possible": possible_output(session, spk=spk),
        "percent_done": (good * 100 / spk.target).quantize(Decimal("0.01")),
        "days": days,
        "materials": materials,
    }


def _week(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"W{week:02d}-{year}"


def production_summary(
    session: Session,
    *,
    group_by: str = "department",
    date_from: date | None = None,
    date_to: date | None = None,
    department: str | None = None,
    mo_id: int | None = None,
) -> list[dict[str, Any]]:
    """Good, defect, rework and yield (good / (good + defect + rework)) per group, from the daily inputs."""
    if group_by not in GROUPS:
        raise ValidationFailed(
            f"group_by must be one of {', '.join(GROUPS)}",
            errors=[{"field": "group_by", "message": "invalid"}],
        )
    stmt = (
        select(
            Spk.department,
            DailyInput.work_date,
            ManufacturingOrder.number,
            func.sum(DailyInput.good),
            func.sum(DailyInput.defect),
            func.sum(DailyInput.rework),
        )
        .join(Spk, Spk.id == DailyInput.spk_id)
        .join(ManufacturingOrder, ManufacturingOrder.id == Spk.mo_id)
        .group_by(Spk.department, DailyInput.work_date, ManufacturingOrder.number)
    )
    if date_from:
        stmt = stmt.where(DailyInput.work_date >= date_from)
    if date_to:
        stmt = stmt.where(DailyInput.work_date <= date_to)
    if department:
        stmt = stmt.where(Spk.department == department)
    if mo_id is not None:
        stmt = stmt.where(Spk.mo_id == mo_id)
    groups: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for dept, day, mo_number, g, d, r in session.execute(stmt).tuples():
        key = {"department": dept, "day": day.isoformat(), "week": _week(day), "mo": mo_number}[group_by]
        bucket = groups[(key, dept)]
        bucket[0] += Decimal(g)
        bucket[1] += Decimal(d)
        bucket[2] += Decimal(r)
    rows = []
    for (key, dept), (g, d, r) in sorted(groups.items()):
        total = g + d + r
        rows.append(
            {
                "key": key,
                "department": dept,
                "good": g,
                "defect": d,
                "rework": r,
                "yield_pct": (g * 100 / total).quantize(Decimal("0.01")) if total else None,
            }
        )
    return rows


def summary_csv(rows: list[dict[str, Any]]) -> Iterator[str]:
    """The summary as CSV lines (header first)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["key", "department", "good", "defect", "rework", "yield_pct"])
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow(
            [
                row["key"],
                row["department"],
                row["good"],
                row["defect"],
                row["rework"],
                "" if row["yield_pct"] is None else row["yield_pct"],
            ]
        )
        yield buf.getvalue()
