"""Alert routes: list, read, acknowledge, resolve (department roles: their department's alerts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from erp_ppic import alerts as service
from erp_ppic.schemas_live import AlertOut, ResolveIn
from kernel.deps import SessionDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/alerts", tags=["ppic"])


@router.get("", response_model=Page[AlertOut])
def list_alerts(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("ppic.alert.view"))],
    page: PageDep,
    status: str | None = None,
    severity: str | None = None,
    type: str | None = None,
    department: str | None = None,
    open: bool = False,
) -> Page[AlertOut]:
    """Alerts, newest first, by ``status`` (or ``open=true``: pending and acknowledged), ``severity``,
    ``type`` and ``department``."""
    scope = principal.department_scope("ppic.alert.view") or department
    rows, total = service.list_alerts(
        session,
        status=status,
        severity=severity,
        type=type,
        department=scope,
        open_only=open,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[AlertOut.model_validate(a) for a in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{alert_id}", response_model=AlertOut)
def get_alert(
    alert_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require("ppic.alert.view"))]
) -> AlertOut:
    """One alert."""
    scope = principal.department_scope("ppic.alert.view")
    return AlertOut.model_validate(service.get_alert(session, alert_id=alert_id, department=scope))


@router.post("/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(
    alert_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("ppic.alert.manage"))],
) -> AlertOut:
    """pending -> acknowledged (escalation stops); 409 from any other status."""
    scope = principal.department_scope("ppic.alert.manage")
    return AlertOut.model_validate(
        service.acknowledge(session, alert_id=alert_id, user=principal.username, department=scope)
    )


@router.post("/{alert_id}/resolve", response_model=AlertOut)
def resolve(
    alert_id: int,
    body: ResolveIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("ppic.alert.manage"))],
) -> AlertOut:
    """acknowledged -> resolved, saying what was done; 409 from any other status."""
    scope = principal.department_scope("ppic.alert.manage")
    return AlertOut.model_validate(
        service.resolve(
            session,
            alert_id=alert_id,
            user=principal.username,
            resolution=body.resolution,
            department=scope,
        )
    )
