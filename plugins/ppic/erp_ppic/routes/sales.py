"""Sales order routes: record, list, read, confirm, cancel, complete."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from erp_ppic import permissions as perm
from erp_ppic import sales
from erp_ppic.models import SalesOrder
from erp_ppic.schemas import SoIn, SoLineOut, SoOut
from kernel.deps import SessionDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/so", tags=["ppic: sales orders"])
SoState = Literal["draft", "confirmed", "in_production", "done", "cancelled"]


def so_out(session: Session, so: SalesOrder) -> SoOut:
    """A sales order with its lines and their planned / produced quantities."""
    out = SoOut.model_validate(so)
    lines = sales.so_lines(session, so_id=so.id)
    figures = sales.line_figures(session, line_ids=[x.id for x in lines])
    out.lines = [
        SoLineOut(
            id=x.id,
            line_no=x.line_no,
            product_id=x.product_id,
            quantity=x.quantity,
            planned=figures[x.id].planned,
            produced=figures[x.id].produced,
            remaining_to_plan=max(x.quantity - figures[x.id].planned, Decimal(0)),
            mo_ids=figures[x.id].mo_ids,
        )
        for x in lines
    ]
    return out


@router.post("", status_code=201, response_model=SoOut)
def create_so(
    body: SoIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.SO_MANAGE))],
    idem: IdempotencyDep,
) -> SoOut:
    """Record a buyer's order (Draft); the buyer PO number is unique (409). Safe to retry with an
    Idempotency-Key."""
    so = sales.create_so(session, data=body, user=principal.username)
    return idem.remember(so_out(session, so), status_code=201)


@router.get("", response_model=Page[SoOut])
def list_sos(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.SO_VIEW))],
    state: SoState | None = None,
    delivery_week: str | None = None,
    customer_id: int | None = None,
) -> Page[SoOut]:
    """Sales orders, newest first, with their lines."""
    rows, total = sales.list_sos(
        session,
        state=state,
        delivery_week=delivery_week,
        customer_id=customer_id,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=[so_out(session, x) for x in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/{so_id}", response_model=SoOut)
def get_so(
    so_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.SO_VIEW))]
) -> SoOut:
    """One sales order; each line says how much is planned (MO quantities) and produced (Packing good)."""
    return so_out(session, sales.get_so(session, so_id=so_id))


@router.post("/{so_id}/confirm", response_model=SoOut)
def confirm_so(
    so_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.SO_MANAGE))]
) -> SoOut:
    """Confirm a Draft order (MOs can then be planned for it)."""
    return so_out(session, sales.transition(session, so_id=so_id, action="confirm", user=principal.username))


@router.post("/{so_id}/cancel", response_model=SoOut)
def cancel_so(
    so_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.SO_MANAGE))]
) -> SoOut:
    """Cancel a Draft or Confirmed order that has no (non-cancelled) MO."""
    return so_out(session, sales.transition(session, so_id=so_id, action="cancel", user=principal.username))


@router.post("/{so_id}/complete", response_model=SoOut)
def complete_so(
    so_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.SO_MANAGE))]
) -> SoOut:
    """Mark an order in production Done once every line is fully produced (409 before)."""
    return so_out(session, sales.transition(session, so_id=so_id, action="complete", user=principal.username))
