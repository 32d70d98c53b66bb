"""Inspection routes: inline and final results, lists, pending final inspections, details."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from erp_quality import inspections
from erp_quality import permissions as perm
from erp_quality.routes.common import actor_of
from erp_quality.schemas import FinalInspectionIn, InlineInspectionIn, InspectionOut
from kernel.deps import SessionDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(tags=["quality"])
View = Annotated[Principal, Depends(require(perm.INSPECTION_VIEW))]
Create = Annotated[Principal, Depends(require(perm.INSPECTION_CREATE))]
Checkpoint = Literal["after_cutting", "after_sewing", "after_finishing", "pre_packing", "final"]


@router.post("/inspection/inline", status_code=201, response_model=InspectionOut)
def inline_inspection(
    body: InlineInspectionIn, session: SessionDep, principal: Create, idem: IdempotencyDep
) -> InspectionOut:
    """Record an inline inspection (inspected = pass + rework + scrap, defects per category; metal
    detector at pre-packing). Safe to retry with an Idempotency-Key."""
    actor = actor_of(principal, perm.INSPECTION_CREATE)
    out = InspectionOut.model_validate(inspections.create_inline_inspection(session, data=body, actor=actor))
    return idem.remember(out, status_code=201)


@router.post("/inspection/final", response_model=InspectionOut)
def final_inspection(
    body: FinalInspectionIn, session: SessionDep, principal: Create, idem: IdempotencyDep
) -> InspectionOut:
    """Complete the pending final inspection of an SPK (by ``inspection_id`` or ``spk_id``); a
    metal-detector failure quarantines the failed units. Safe to retry with an Idempotency-Key."""
    actor = actor_of(principal, perm.INSPECTION_CREATE)
    out = InspectionOut.model_validate(inspections.complete_final_inspection(session, data=body, actor=actor))
    return idem.remember(out)


def _list(session: SessionDep, page: PageDep, principal: Principal, **filters: object) -> Page[InspectionOut]:
    rows, total = inspections.list_inspections(
        session,
        actor=actor_of(principal, perm.INSPECTION_VIEW),
        limit=page.limit,
        offset=page.offset,
        **filters,  # type: ignore[arg-type]
    )
    return Page(
        items=[InspectionOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/inspections", response_model=Page[InspectionOut])
def list_inspections(
    session: SessionDep,
    page: PageDep,
    principal: View,
    kind: Literal["inline", "final"] | None = None,
    status: Literal["pending", "passed", "failed"] | None = None,
    checkpoint: Checkpoint | None = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    spk_id: int | None = None,
    batch_number: Annotated[str | None, Query(max_length=60)] = None,
) -> Page[InspectionOut]:
    """Inspections, newest first (department-scoped roles see their department's only)."""
    return _list(
        session,
        page,
        principal,
        kind=kind,
        status=status,
        checkpoint=checkpoint,
        department=department,
        spk_id=spk_id,
        batch_number=batch_number,
    )


@router.get("/inspections/pending-final", response_model=Page[InspectionOut])
def pending_final(
    session: SessionDep,
    page: PageDep,
    principal: View,
    department: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[InspectionOut]:
    """Final inspections waiting for an inspector (created when SPKs complete)."""
    return _list(session, page, principal, kind="final", status="pending", department=department)


@router.get("/inspections/{inspection_id}", response_model=InspectionOut)
def get_inspection(inspection_id: int, session: SessionDep, principal: View) -> InspectionOut:
    """One inspection with its defects and metal-detector runs."""
    actor = actor_of(principal, perm.INSPECTION_VIEW)
    return InspectionOut.model_validate(
        inspections.get_inspection(session, inspection_id=inspection_id, actor=actor)
    )
