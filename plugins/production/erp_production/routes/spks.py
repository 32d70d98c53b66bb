"""SPK routes: create, edit (through approval), start, daily input, progress, complete, deliver WIP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from erp_production import daily, edits, reports
from erp_production import spk as spk_service
from erp_production.schemas import (
    DailyInputIn,
    DailyInputOut,
    DeliverIn,
    ProgressOut,
    SpkCreateIn,
    SpkEditIn,
    SpkEditOut,
    SpkOut,
    TransferOut,
)
from kernel.deps import SessionDep, SiteDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/spk", tags=["production"])


@router.get("", response_model=Page[SpkOut])
def list_spks(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.spk.view"))],
    page: PageDep,
    mo_id: int | None = None,
    department: str | None = None,
    state: str | None = None,
) -> Page[SpkOut]:
    """SPKs by MO, department and state; department roles see only their department's."""
    scope = principal.department_scope("production.spk.view") or department
    rows, total = spk_service.list_spks(
        session, mo_id=mo_id, department=scope, state=state, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[SpkOut.model_validate(s) for s in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/create", status_code=201, response_model=SpkOut)
def create_spk(
    body: SpkCreateIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.spk.create"))],
) -> SpkOut:
    """Create the SPK of one routing department of a released MO."""
    return SpkOut.model_validate(
        spk_service.create_spk(
            session,
            mo_id=body.mo_id,
            department=body.department,
            target=body.target,
            deadline=body.deadline,
            notes=body.notes,
            user=principal.username,
        )
    )


@router.get("/{spk_id}", response_model=SpkOut)
def get_spk(
    spk_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require("production.spk.view"))]
) -> SpkOut:
    """One SPK (404 for another department's SPK when the caller is department-scoped)."""
    scope = principal.department_scope("production.spk.view")
    return SpkOut.model_validate(spk_service.get_spk(session, spk_id=spk_id, department=scope))


@router.put("/{spk_id}/edit", status_code=202, response_model=SpkEditOut)
def edit_spk(
    spk_id: int,
    body: SpkEditIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.spk.edit"))],
) -> SpkEditOut:
    """Submit an edit for approval (SPV of the department, then Manager); it applies once approved."""
    scope = principal.department_scope("production.spk.edit")
    edit = edits.request_edit(
        session,
        spk_id=spk_id,
        data=body,
        user_id=principal.user_id,
        username=principal.username,
        department=scope,
    )
    return SpkEditOut.model_validate(edit)


@router.get("/{spk_id}/edits", response_model=list[SpkEditOut])
def list_edits(
    spk_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require("production.spk.view"))]
) -> list[SpkEditOut]:
    """The SPK's requested edits with their state."""
    scope = principal.department_scope("production.spk.view")
    spk_service.get_spk(session, spk_id=spk_id, department=scope)
    return [SpkEditOut.model_validate(e) for e in edits.list_edits(session, spk_id=spk_id)]


@router.post("/{spk_id}/start", response_model=SpkOut)
def start_spk(
    spk_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.spk.execute"))],
) -> SpkOut:
    """Start an SPK (first of its MO, or WIP delivered to it)."""
    scope = principal.department_scope("production.spk.execute")
    return SpkOut.model_validate(
        spk_service.start_spk(session, spk_id=spk_id, user=principal.username, department=scope)
    )


@router.post("/{spk_id}/daily-input", status_code=201, response_model=DailyInputOut)
def post_daily_input(
    spk_id: int,
    body: DailyInputIn,
    session: SessionDep,
    site: SiteDep,
    principal: Annotated[Principal, Depends(require("production.input.create"))],
    idem: IdempotencyDep,
) -> DailyInputOut:
    """Record one day's output (a second post for the same date corrects it). Safe to retry with an
    ``Idempotency-Key``."""
    scope = principal.department_scope("production.input.create")
    entry, _ = daily.post_daily_input(
        session,
        hooks=site.registry.pm.hook,
        spk_id=spk_id,
        work_date=body.work_date,
        good=body.good,
        defect=body.defect,
        rework=body.rework,
        user=principal.username,
        department=scope,
    )
    return idem.remember(DailyInputOut.model_validate(entry), status_code=201)


@router.get("/{spk_id}/daily-inputs", response_model=list[DailyInputOut])
def list_inputs(
    spk_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require("production.spk.view"))]
) -> list[DailyInputOut]:
    """The SPK's daily inputs by date."""
    scope = principal.department_scope("production.spk.view")
    spk_service.get_spk(session, spk_id=spk_id, department=scope)
    return [DailyInputOut.model_validate(e) for e in daily.list_inputs(session, spk_id=spk_id)]


@router.get("/{spk_id}/progress", response_model=ProgressOut)
def progress(
    spk_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require("production.spk.view"))]
) -> ProgressOut:
    """Target, good/defect/rework, cumulative by day, % done, materials allocated vs consumed, debt."""
    scope = principal.department_scope("production.spk.view")
    return ProgressOut.model_validate(reports.spk_progress(session, spk_id=spk_id, department=scope))


@router.post("/{spk_id}/complete", response_model=SpkOut)
def complete_spk(
    spk_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.spk.execute"))],
) -> SpkOut:
    """Complete an SPK: inputs lock, unused reservations are released, ``spk_completed`` is emitted."""
    scope = principal.department_scope("production.spk.execute")
    return SpkOut.model_validate(
        spk_service.complete_spk(session, spk_id=spk_id, user=principal.username, department=scope)
    )


@router.post("/{spk_id}/deliver", status_code=201, response_model=TransferOut)
def deliver(
    spk_id: int,
    body: DeliverIn,
    session: SessionDep,
    site: SiteDep,
    principal: Annotated[Principal, Depends(require("production.spk.execute"))],
) -> TransferOut:
    """Send output WIP to the next SPK's store (a warehouse transfer the next department accepts)."""
    scope = principal.department_scope("production.spk.execute")
    transfer = spk_service.deliver_wip(
        session,
        hooks=site.registry.pm.hook,
        spk_id=spk_id,
        quantity=body.quantity,
        user=principal.username,
        department=scope,
    )
    return TransferOut.model_validate(transfer, from_attributes=True)
