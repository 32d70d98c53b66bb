"""Report routes: the defect analysis (JSON or CSV)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from erp_quality import permissions as perm
from erp_quality import reports
from erp_quality.routes.common import actor_of
from erp_quality.schemas import DefectAnalysisOut
from kernel.deps import SessionDep
from kernel.errors import ValidationFailed
from kernel.rbac import Principal, require

router = APIRouter(prefix="/reports", tags=["quality"])


@router.get(
    "/defect-analysis",
    response_model=DefectAnalysisOut,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV (format=csv)"}},
)
def defect_analysis(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.REPORT_VIEW))],
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    product_id: int | None = None,
    checkpoint: Annotated[str | None, Query(max_length=20)] = None,
    period: Literal["day", "week", "month"] = "week",
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Pareto of defects by category, department, product and period; pass rate and first-pass yield per
    department. ``date_to`` is exclusive; ``format=csv`` returns the same as CSV."""
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(
                f"{name} needs a time zone (e.g. 2026-01-31T00:00:00Z)",
                errors=[{"field": name, "in": "query", "message": "naive datetime"}],
            )
    filters = reports.AnalysisFilter(date_from, date_to, department, product_id, checkpoint, period)
    analysis = reports.defect_analysis(session, filters=filters, actor=actor_of(principal, perm.REPORT_VIEW))
    if format == "csv":
        return StreamingResponse(
            reports.analysis_csv(analysis),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="defect-analysis.csv"'},
        )
    return analysis
