"""Manufacturing order routes (PPIC's routes may expose the same services)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from erp_production import mo as mo_service
from erp_production.schemas import MoIn, MoOut, ReleaseIn, SpkOut
from kernel.deps import SessionDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/mo", tags=["production"])


@router.get("", response_model=Page[MoOut])
def list_mos(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.mo.view"))],
    page: PageDep,
    state: str | None = None,
    week: str | None = None,
    department: str | None = None,
) -> Page[MoOut]:
    """MOs, newest first; department roles see the MOs with an SPK in their department."""
    scope = principal.department_scope("production.mo.view") or department
    rows, total = mo_service.list_mos(
        session, state=state, week=week, department=scope, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[MoOut.model_validate(m) for m in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=MoOut)
def create_mo(
    body: MoIn, session: SessionDep, principal: Annotated[Principal, Depends(require("production.mo.create"))]
) -> MoOut:
    """Create a Draft MO (batch number unique)."""
    return MoOut.model_validate(mo_service.create_mo(session, data=body, user=principal.username))


@router.get("/{mo_id}", response_model=MoOut)
def get_mo(
    mo_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require("production.mo.view"))]
) -> MoOut:
    """One MO."""
    return MoOut.model_validate(mo_service.get_mo(session, mo_id=mo_id))


@router.post("/{mo_id}/release", response_model=list[SpkOut])
def release_mo(
    mo_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.mo.release"))],
    body: Annotated[ReleaseIn | None, Body()] = None,
) -> list[SpkOut]:
    """Release an MO partially (Cutting, Embroidery) or fully; returns the SPKs this release created."""
    _, created = mo_service.release_mo(
        session, mo_id=mo_id, level=(body or ReleaseIn()).level, user=principal.username
    )
    return [SpkOut.model_validate(s) for s in created]


@router.post("/{mo_id}/cancel", response_model=MoOut)
def cancel_mo(
    mo_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require("production.mo.create"))]
) -> MoOut:
    """Cancel an MO none of whose SPKs has started (reservations are released)."""
    return MoOut.model_validate(mo_service.cancel_mo(session, mo_id=mo_id, user=principal.username))
