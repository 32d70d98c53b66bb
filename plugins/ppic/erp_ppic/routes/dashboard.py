"""The real-time dashboard over HTTP (the WebSocket push lives in ``erp_ppic.ws``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from erp_ppic.dashboard import compute_dashboard
from erp_ppic.schemas_live import DashboardOut
from kernel.deps import SessionDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/dashboard", tags=["ppic"])


@router.get("/real-time", response_model=DashboardOut)
def real_time(
    session: SessionDep, principal: Annotated[Principal, Depends(require("ppic.dashboard.view"))]
) -> dict[str, Any]:
    """MOs by state, SPKs in progress per department with today's output vs target, QC pass rate today
    and this week, open material debt, shortages, late SPKs and open alerts, computed now."""
    return compute_dashboard(session)  # validated and serialised once, by response_model
