"""MO routes of the seed: plan from a sales order line, release, progress; plus list and PO links."""

from __future__ import annotations

from typing import Annotated

from erp_production.mo import get_mo
from fastapi import APIRouter, Body, Depends

from erp_ppic import permissions as perm
from erp_ppic import planning
from erp_ppic.schemas import MoProgressOut, PlanMoIn, PlannedMoOut, PoLinkIn, ReleaseMoIn, ReleaseOut
from kernel.deps import SessionDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/mo", tags=["ppic: manufacturing orders"])


@router.post("/create", status_code=201, response_model=PlannedMoOut)
def create_mo(
    body: PlanMoIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.MO_CREATE))],
    idem: IdempotencyDep,
) -> PlannedMoOut:
    """Plan a Draft MO for a sales order line (through production) and link its fabric / label POs.
    409 when the line has less left to plan (unless ``allow_over_plan``). Safe to retry with an
    Idempotency-Key."""
    mo = planning.plan_mo(session, data=body, user=principal.username)
    return idem.remember(PlannedMoOut.model_validate(planning.mo_view(session, mo=mo)), status_code=201)


@router.get("", response_model=Page[PlannedMoOut])
def list_mos(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.MO_VIEW))],
    so_id: int | None = None,
    state: str | None = None,
) -> Page[PlannedMoOut]:
    """MOs planned by PPIC, newest first."""
    rows, total = planning.list_planned(
        session, so_id=so_id, state=state, limit=page.limit, offset=page.offset
    )
    items = [PlannedMoOut.model_validate(planning.mo_view(session, mo=m)) for m in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{mo_id}", response_model=PlannedMoOut)
def get_mo_route(
    mo_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.MO_VIEW))]
) -> PlannedMoOut:
    """One MO with its sales order line and linked purchase orders."""
    return PlannedMoOut.model_validate(planning.mo_view(session, mo=get_mo(session, mo_id=mo_id)))


@router.post("/{mo_id}/purchase-orders", status_code=201, response_model=PlannedMoOut)
def link_po(
    mo_id: int,
    body: PoLinkIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.MO_CREATE))],
) -> PlannedMoOut:
    """Link a fabric or label PO to an MO not yet fully released (a label PO must carry the MO's week
    and destination)."""
    planning.link_purchase_order(session, mo_id=mo_id, link=body, user=principal.username)
    return PlannedMoOut.model_validate(planning.mo_view(session, mo=get_mo(session, mo_id=mo_id)))


@router.put("/{mo_id}/release", response_model=ReleaseOut)
def release_mo(
    mo_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.MO_RELEASE))],
    body: Annotated[ReleaseMoIn | None, Body()] = None,
) -> ReleaseOut:
    """Release through production: partially once the fabric PO arrived, fully once the label PO too
    (locks week and destination). Without a level, as far as the receipts allow; a level beyond them
    needs ``force``. 409 when nothing arrived or the MO already is that far."""
    data = body or ReleaseMoIn()
    mo, level, created = planning.release(
        session, mo_id=mo_id, level=data.level, force=data.force, user=principal.username
    )
    return ReleaseOut(
        mo=PlannedMoOut.model_validate(planning.mo_view(session, mo=mo)),
        level=level or "",
        spk_ids=[s.id for s in created],
    )


@router.get("/{mo_id}/progress", response_model=MoProgressOut)
def mo_progress(
    mo_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.MO_VIEW))]
) -> MoProgressOut:
    """Per department SPK: target, good, defect, % done, late or on track against its deadline,
    materials short, open debt."""
    return MoProgressOut.model_validate(planning.progress(session, mo_id=mo_id))
