"""The weekly production report: per planning week and department, planned, good, defect, yield and
on-time, from the SPKs of non-cancelled MOs and their daily inputs; CSV export.

The week is the MO's planning week (``weeks.week_of``). Planned is the sum of the SPK targets; yield is
good / (good + defect + rework) as in production's summary; an SPK is on time when it was completed on
or before its deadline (site calendar day; no deadline counts as on time).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from erp_production.models import DailyInput, ManufacturingOrder, Spk
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_ppic.weeks import local_date, week_of, week_sort_key
from kernel.rbac import PRODUCTION_DEPARTMENTS

ZERO = Decimal(0)
WEEKLY_COLUMNS = (
    "week",
    "department",
    "mos",
    "planned",
    "good",
    "defect",
    "rework",
    "yield_pct",
    "spks",
    "completed",
    "on_time",
    "on_time_pct",
)


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part * 100 / whole).quantize(Decimal("0.01")) if whole else None


def weekly_production(
    session: Session, *, week: str | None = None, department: str | None = None
) -> list[dict[str, Any]]:
    """Rows per (week, department), weeks in order, departments in flow order."""
    sums = (
        select(
            DailyInput.spk_id.label("spk_id"),
            func.sum(DailyInput.good).label("good"),
            func.sum(DailyInput.defect).label("defect"),
            func.sum(DailyInput.rework).label("rework"),
        )
        .group_by(DailyInput.spk_id)
        .subquery()
    )
    stmt = (
        select(
            ManufacturingOrder.id,
            ManufacturingOrder.week,
            ManufacturingOrder.planned_end,
            Spk.department,
            Spk.target,
            Spk.state,
            Spk.deadline,
            Spk.completed_at,
            func.coalesce(sums.c.good, 0),
            func.coalesce(sums.c.defect, 0),
            func.coalesce(sums.c.rework, 0),
        )
        .join(ManufacturingOrder, ManufacturingOrder.id == Spk.mo_id)
        .outerjoin(sums, sums.c.spk_id == Spk.id)
        .where(ManufacturingOrder.state != "cancelled", Spk.state != "cancelled")
    )
    if department:
        stmt = stmt.where(Spk.department == department)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for mo_id, mo_week, planned_end, dept, target, state, deadline, completed_at, g, d, r in session.execute(
        stmt
    ).tuples():
        key = week_of(mo_week, planned_end)
        if week and key != week:
            continue
        row = groups.setdefault(
            (key, dept),
            {
                "mo_ids": set(),
                "planned": ZERO,
                "good": ZERO,
                "defect": ZERO,
                "rework": ZERO,
                "spks": 0,
                "completed": 0,
                "on_time": 0,
            },
        )
        row["mo_ids"].add(mo_id)
        row["planned"] += target
        row["good"] += Decimal(g)
        row["defect"] += Decimal(d)
        row["rework"] += Decimal(r)
        row["spks"] += 1
        if state == "completed":
            row["completed"] += 1
            done_on = local_date(session, completed_at)
            if deadline is None or (done_on is not None and done_on <= deadline):
                row["on_time"] += 1
    order = {d: i for i, d in enumerate(PRODUCTION_DEPARTMENTS)}
    rows = []
    for (key, dept), row in sorted(
        groups.items(), key=lambda kv: (week_sort_key(kv[0][0]), order.get(kv[0][1], 99), kv[0][1])
    ):
        processed = row["good"] + row["defect"] + row["rework"]
        rows.append(
            {
                "week": key,
                "department": dept,
                "mos": len(row["mo_ids"]),
                "planned": row["planned"],
                "good": row["good"],
                "defect": row["defect"],
                "rework": row["rework"],
                "yield_pct": _pct(row["good"], processed),
                "spks": row["spks"],
                "completed": row["completed"],
                "on_time": row["on_time"],
                "on_time_pct": _pct(Decimal(row["on_time"]), Decimal(row["completed"])),
            }
        )
    return rows


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Iterator[str]:
    """Rows as CSV lines, header first (None as an empty cell)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
        yield buf.getvalue()
