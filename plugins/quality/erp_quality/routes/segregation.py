"""Segregation routes: create, list, detail, acknowledge, release, scrap."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from erp_quality import permissions as perm
from erp_quality import segregation
from erp_quality.routes.common import actor_of
from erp_quality.schemas import SegregationCloseIn, SegregationIn, SegregationOut
from kernel.deps import SessionDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(tags=["quality"])
View = Annotated[Principal, Depends(require(perm.SEGREGATION_VIEW))]
Resolve = Annotated[Principal, Depends(require(perm.SEGREGATION_RESOLVE))]


@router.post("/segregation/create", status_code=201, response_model=SegregationOut)
def create_segregation(
    body: SegregationIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.SEGREGATION_CREATE))],
    idem: IdempotencyDep,
) -> SegregationOut:
    """Move failed or suspect units to quarantine with a reason. Safe to retry with an Idempotency-Key."""
    seg = segregation.segregate(
        session,
        **body.model_dump(),
        source="inspection" if body.inspection_id else "manual",
        actor=actor_of(principal, perm.SEGREGATION_CREATE),
    )
    return idem.remember(SegregationOut.model_validate(seg), status_code=201)


@router.get("/segregations", response_model=Page[SegregationOut])
def list_segregations(
    session: SessionDep,
    page: PageDep,
    principal: View,
    status: Literal["quarantined", "acknowledged", "released", "scrapped"] | None = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    batch_number: Annotated[str | None, Query(max_length=60)] = None,
) -> Page[SegregationOut]:
    """Segregations, newest first (department-scoped roles see their department's only)."""
    rows, total = segregation.list_segregations(
        session,
        actor=actor_of(principal, perm.SEGREGATION_VIEW),
        status=status,
        department=department,
        batch_number=batch_number,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[SegregationOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/segregations/{segregation_id}", response_model=SegregationOut)
def get_segregation(segregation_id: int, session: SessionDep, principal: View) -> SegregationOut:
    """One segregation."""
    actor = actor_of(principal, perm.SEGREGATION_VIEW)
    return SegregationOut.model_validate(
        segregation.get_segregation(session, segregation_id=segregation_id, actor=actor)
    )


@router.post("/segregations/{segregation_id}/acknowledge", response_model=SegregationOut)
def acknowledge(
    segregation_id: int,
    body: SegregationCloseIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.SEGREGATION_ACKNOWLEDGE))],
) -> SegregationOut:
    """The responsible role acknowledges quarantined units (SPVs: their department's only)."""
    actor = actor_of(principal, perm.SEGREGATION_ACKNOWLEDGE)
    return SegregationOut.model_validate(
        segregation.acknowledge(session, segregation_id=segregation_id, actor=actor, note=body.note)
    )


@router.post("/segregations/{segregation_id}/release", response_model=SegregationOut)
def release(
    segregation_id: int,
    body: SegregationCloseIn,
    session: SessionDep,
    principal: Resolve,
    idem: IdempotencyDep,
) -> SegregationOut:
    """Move acknowledged units back to where they came from (a stock move)."""
    actor = actor_of(principal, perm.SEGREGATION_RESOLVE)
    seg = segregation.release(session, segregation_id=segregation_id, actor=actor, note=body.note)
    return idem.remember(SegregationOut.model_validate(seg))


@router.post("/segregations/{segregation_id}/scrap", response_model=SegregationOut)
def scrap(
    segregation_id: int,
    body: SegregationCloseIn,
    session: SessionDep,
    principal: Resolve,
    idem: IdempotencyDep,
) -> SegregationOut:
    """Scrap acknowledged units (a stock move to the scrap location)."""
    actor = actor_of(principal, perm.SEGREGATION_RESOLVE)
    seg = segregation.scrap(session, segregation_id=segregation_id, actor=actor, note=body.note)
    return idem.remember(SegregationOut.model_validate(seg))
