"""Defect analysis: Pareto of defects by category, department, product and period, with pass rate and
first-pass yield per department, over completed inspections (a CSV export too).

Definitions: pass rate = (inspected - scrap) / inspected (units good in the end, after rework);
first-pass yield = pass / inspected (units good at the first inspection, without rework).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from erp_warehouse.models import Product
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_quality.actor import Actor
from erp_quality.lab import percent
from erp_quality.models import DefectCategory, Inspection, InspectionDefect
from erp_quality.schemas import DefectAnalysisOut, ParetoRow, YieldRow
from kernel.errors import ValidationFailed

ZERO = Decimal(0)
Period = Literal["day", "week", "month"]


@dataclass(frozen=True)
class AnalysisFilter:
    """Which completed inspections the analysis covers (``date_to`` exclusive)."""

    date_from: datetime | None = None
    date_to: datetime | None = None
    department: str | None = None
    product_id: int | None = None
    checkpoint: str | None = None
    period: Period = "week"


def _where(stmt: Any, f: AnalysisFilter, actor: Actor) -> Any:
    stmt = stmt.where(Inspection.status != "pending")
    if f.date_from is not None:
        stmt = stmt.where(Inspection.inspected_at >= f.date_from)
    if f.date_to is not None:
        stmt = stmt.where(Inspection.inspected_at < f.date_to)
    if f.department is not None:
        stmt = stmt.where(Inspection.department == f.department)
    if f.product_id is not None:
        stmt = stmt.where(Inspection.product_id == f.product_id)
    if f.checkpoint is not None:
        stmt = stmt.where(Inspection.checkpoint == f.checkpoint)
    if actor.scope is not None:
        stmt = stmt.where(Inspection.department == actor.scope)
    return stmt


def pareto(totals: dict[tuple[str, str], Decimal]) -> list[ParetoRow]:
    """Rows largest first (ties by key) with share and cumulative share in percent of the total."""
    grand = sum(totals.values(), ZERO)
    rows, running = [], ZERO
    for (key, label), qty in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0][0])):
        running += qty
        rows.append(
            ParetoRow(
                key=key,
                label=label,
                quantity=qty,
                share=percent(qty, grand) if grand else ZERO,
                cumulative_share=percent(running, grand) if grand else ZERO,
            )
        )
    return rows


def period_key(moment: datetime, period: Period) -> str:
    """The period a moment falls in: ``2026-03-05``, ``W10-2026`` (ISO week) or ``2026-03`` (UTC)."""
    if period == "day":
        return moment.date().isoformat()
    if period == "month":
        return moment.strftime("%Y-%m")
    year, week, _ = moment.isocalendar()
    return f"W{week:02d}-{year}"


def defect_analysis(session: Session, *, filters: AnalysisFilter, actor: Actor) -> DefectAnalysisOut:
    """The Pareto of defects and the yields of each department for the filtered inspections."""
    f = filters
    if f.date_from is not None and f.date_to is not None and f.date_from >= f.date_to:
        raise ValidationFailed(
            "empty period", errors=[{"field": "date_to", "message": "must be after date_from"}]
        )
    defects = _where(
        select(
            DefectCategory.id,
            DefectCategory.code,
            DefectCategory.name,
            Inspection.department,
            Inspection.product_id,
            Product.code,
            Inspection.inspected_at,
            InspectionDefect.quantity,
        )
        .join(InspectionDefect, InspectionDefect.inspection_id == Inspection.id)
        .join(DefectCategory, DefectCategory.id == InspectionDefect.category_id)
        .outerjoin(Product, Product.id == Inspection.product_id),
        f,
        actor,
    )
    by: dict[str, dict[tuple[str, str], Decimal]] = {
        k: defaultdict(lambda: ZERO) for k in ("c", "d", "p", "t")
    }
    for _cat_id, code, name, dept, product_id, product_code, at, qty in session.execute(defects):
        by["c"][(code, name)] += qty
        by["d"][(dept, dept)] += qty
        by["p"][(str(product_id) if product_id else "-", product_code or "(no product)")] += qty
        key = period_key(at, f.period)
        by["t"][(key, key)] += qty
    yields_stmt = _where(
        select(
            Inspection.department,
            func.count(Inspection.id),
            func.sum(Inspection.inspected_qty),
            func.sum(Inspection.pass_qty),
            func.sum(Inspection.rework_qty),
            func.sum(Inspection.scrap_qty),
        ).group_by(Inspection.department),
        f,
        actor,
    )
    yields = []
    for dept, count, inspected, passed, rework, scrap in session.execute(
        yields_stmt.order_by(Inspection.department)
    ):
        inspected, passed, rework, scrap = (Decimal(x or 0) for x in (inspected, passed, rework, scrap))
        yields.append(
            YieldRow(
                department=dept,
                inspections=count,
                inspected=inspected,
                passed=passed,
                rework=rework,
                scrap=scrap,
                pass_rate=percent(inspected - scrap, inspected) if inspected else None,
                first_pass_yield=percent(passed, inspected) if inspected else None,
            )
        )
    return DefectAnalysisOut(
        filters={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in f.__dict__.items()},
        total_defects=sum(by["c"].values(), ZERO),
        by_category=pareto(by["c"]),
        by_department=pareto(by["d"]),
        by_product=pareto(by["p"]),
        by_period=sorted(pareto(by["t"]), key=lambda r: r.key),
        yields=yields,
    )


CSV_COLUMNS = [
    "section",
    "key",
    "label",
    "quantity",
    "share_pct",
    "cumulative_pct",
    "inspections",
    "inspected",
    "passed",
    "rework",
    "scrap",
    "pass_rate_pct",
    "first_pass_yield_pct",
]


def analysis_csv(analysis: DefectAnalysisOut) -> Iterator[str]:
    """The analysis as CSV lines: one row per Pareto entry of each section, then one per department yield."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for section in ("by_category", "by_department", "by_product", "by_period"):
        for row in getattr(analysis, section):
            writer.writerow(
                [section, row.key, row.label, row.quantity, row.share, row.cumulative_share] + [""] * 7
            )
        yield flush()
    for y in analysis.yields:
        writer.writerow(
            [
                "yields",
                y.department,
                y.department,
                "",
                "",
                "",
                y.inspections,
                y.inspected,
                y.passed,
                y.rework,
                y.scrap,
                y.pass_rate if y.pass_rate is not None else "",
                y.first_pass_yield if y.first_pass_yield is not None else "",
            ]
        )
    yield flush()
