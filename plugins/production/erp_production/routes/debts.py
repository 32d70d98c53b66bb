"""Material debt and report routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from erp_production import debt as debt_service
from erp_production import reports
from erp_production.schemas import DebtOut, SettlementOut, SummaryOut
from kernel.deps import SessionDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(tags=["production"])


@router.get("/debts", response_model=Page[DebtOut])
def list_debts(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.debt.view"))],
    page: PageDep,
    status: str | None = None,
    department: str | None = None,
    product_id: int | None = None,
    spk_id: int | None = None,
) -> Page[DebtOut]:
    """Material debts by ``status`` (open, settled, pending, approved, rejected), department, product, SPK."""
    scope = principal.department_scope("production.debt.view") or department
    rows, total = debt_service.list_debts(
        session,
        status=status,
        department=scope,
        product_id=product_id,
        spk_id=spk_id,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[DebtOut.model_validate(d) for d in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/debts/{debt_id}", response_model=DebtOut)
def get_debt(
    debt_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.debt.view"))],
) -> DebtOut:
    """One debt with its settlements."""
    scope = principal.department_scope("production.debt.view")
    debt, settlements = debt_service.get_debt(session, debt_id=debt_id, department=scope)
    out = DebtOut.model_validate(debt)
    out.settlements = [SettlementOut.model_validate(s) for s in settlements]
    return out


@router.get("/reports/production-summary", response_model=SummaryOut)
def production_summary(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.report.view"))],
    group_by: Literal["department", "day", "week", "mo"] = "department",
    date_from: date | None = None,
    date_to: date | None = None,
    department: str | None = None,
    mo_id: int | None = None,
    format: Literal["json", "csv"] = "json",
) -> SummaryOut | StreamingResponse:
    """Good / defect / rework and yield by department, day, week or MO; ``format=csv`` exports."""
    scope = principal.department_scope("production.report.view") or department
    rows = reports.production_summary(
        session, group_by=group_by, date_from=date_from, date_to=date_to, department=scope, mo_id=mo_id
    )
    if format == "csv":
        return StreamingResponse(
            reports.summary_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": "attachment; filename=production-summary.csv"},
        )
    return SummaryOut(group_by=group_by, date_from=date_from, date_to=date_to, rows=rows)  # type: ignore[arg-type]
