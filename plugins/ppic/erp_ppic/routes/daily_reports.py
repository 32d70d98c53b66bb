"""The stored 08:00 daily reports: list and read."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends

from erp_ppic import daily_report as service
from erp_ppic.schemas_live import DailyReportOut, DailyReportSummary
from kernel.deps import SessionDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/reports/daily", tags=["ppic"])


@router.get("", response_model=Page[DailyReportSummary])
def list_reports(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("ppic.report.view"))],
    page: PageDep,
) -> Page[DailyReportSummary]:
    """Stored daily reports, newest day first."""
    rows, total = service.list_reports(session, limit=page.limit, offset=page.offset)
    return Page(
        items=[DailyReportSummary.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{report_date}", response_model=DailyReportOut)
def get_report(
    report_date: date,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("ppic.report.view"))],
) -> DailyReportOut:
    """The report of one production day (``YYYY-MM-DD``); 404 when none was generated."""
    return DailyReportOut.model_validate(service.get_report(session, report_date=report_date))
