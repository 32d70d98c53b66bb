"""Report routes: weekly production and material requirements (MRP), JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from erp_production.schemas import Department
from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from erp_ppic import mrp, reports
from erp_ppic import permissions as perm
from erp_ppic.schemas import MrpOut, WeeklyReportOut, WeeklyRowOut
from kernel.deps import SessionDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/reports", tags=["ppic: reports"])
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}
}


def _csv(lines: Any, name: str) -> StreamingResponse:
    return StreamingResponse(
        lines, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/weekly-production", response_model=WeeklyReportOut, responses=CSV)
def weekly_production(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.REPORT_VIEW))],
    week: str | None = None,
    department: Department | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Per planning week and department: planned (SPK targets), good, defect, rework, yield and SPKs
    completed on time."""
    rows = reports.weekly_production(session, week=week, department=department)
    if format == "csv":
        return _csv(reports.to_csv(rows, reports.WEEKLY_COLUMNS), "weekly-production.csv")
    return WeeklyReportOut(rows=[WeeklyRowOut.model_validate(r) for r in rows])


@router.get("/material-requirements", response_model=MrpOut, responses=CSV)
def material_requirements(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.REPORT_VIEW))],
    format: Literal["json", "csv"] = "json",
) -> Any:
    """MRP: the open MOs' remaining quantities exploded through the active BOMs, netted week by week
    against free stock and open POs; shortages with a suggested purchase per supplier."""
    result = mrp.material_requirements(session)
    if format == "csv":
        return _csv(mrp.mrp_csv(result), "material-requirements.csv")
    return MrpOut.model_validate(result)
