"""Purchase orders: create, list, read, send, cancel, close, delete, receive."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from erp_warehouse import permissions as perm
from erp_warehouse import purchasing
from erp_warehouse.models import PurchaseOrder
from erp_warehouse.routes.common import page_of
from erp_warehouse.schemas import PoIn, PoLineOut, PoOut, PostedMoveOut, PoType, ReceiptIn, ReceiptOut
from kernel.deps import SessionDep, SiteDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/po", tags=["warehouse: purchasing"])
PoState = purchasing.PoState


def po_out(session: Session, po: PurchaseOrder) -> PoOut:
    """A purchase order with its lines."""
    out = PoOut.model_validate(po)
    out.lines = [PoLineOut.model_validate(x) for x in purchasing.po_lines(session, po_id=po.id)]
    return out


@router.post("/create", status_code=201, response_model=PoOut)
def create_po(
    body: PoIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.PO_CREATE))],
    idem: IdempotencyDep,
) -> PoOut:
    """Create a Draft purchase order (quantities converted to each product's stock unit; a label PO
    needs week and destination). Safe to retry with an Idempotency-Key."""
    po = purchasing.create_po(session, data=body, user=principal.username)
    return idem.remember(po_out(session, po), status_code=201)


@router.get("", response_model=Page[PoOut])
def list_pos(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.PO_VIEW))],
    state: PoState | None = None,
    po_type: PoType | None = None,
    supplier_id: int | None = None,
) -> Page[PoOut]:
    """Purchase orders, newest first (without lines; read one for them)."""
    rows, total = purchasing.list_pos(
        session, state=state, po_type=po_type, supplier_id=supplier_id, limit=page.limit, offset=page.offset
    )
    return page_of([PoOut.model_validate(p) for p in rows], total, page)


@router.get("/{po_id}", response_model=PoOut)
def get_po(
    po_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.PO_VIEW))]
) -> PoOut:
    """One purchase order with its lines and what was received of each."""
    return po_out(session, purchasing.get_po(session, po_id=po_id))


@router.post("/{po_id}/send", response_model=PoOut)
def send_po(
    po_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.PO_SEND))]
) -> PoOut:
    """Approve a Draft purchase order and send it to the supplier (409 from any other state)."""
    return po_out(session, purchasing.send_po(session, po_id=po_id, user=principal.username))


@router.post("/{po_id}/cancel", response_model=PoOut)
def cancel_po(
    po_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.PO_CANCEL))]
) -> PoOut:
    """Cancel a Draft or Sent purchase order (409 once goods were received)."""
    return po_out(session, purchasing.cancel_po(session, po_id=po_id, user=principal.username))


@router.post("/{po_id}/close", response_model=PoOut)
def close_po(
    po_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.PO_CLOSE))]
) -> PoOut:
    """Mark a partly received purchase order Done (409 from any other state)."""
    return po_out(session, purchasing.close_po(session, po_id=po_id))


@router.delete("/{po_id}", status_code=204, response_class=Response)
def delete_po(
    po_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.PO_DELETE))]
) -> Response:
    """Delete a Draft or Cancelled purchase order (409 for one that moved stock)."""
    purchasing.delete_po(session, po_id=po_id)
    return Response(status_code=204)


@router.put("/{po_id}/receive", response_model=ReceiptOut)
def receive_po(
    po_id: int,
    body: ReceiptIn,
    session: SessionDep,
    site: SiteDep,
    principal: Annotated[Principal, Depends(require(perm.PO_RECEIVE))],
    idem: IdempotencyDep,
) -> ReceiptOut:
    """Receive (part of) a Sent purchase order into its store, by lot; settles material debt through
    ``on_goods_received`` in the same transaction (409 beyond what is open or from a wrong state).
    Safe to retry with an Idempotency-Key."""
    po, receipt, moved = purchasing.receive_po(
        session, hooks=site.registry.pm.hook, po_id=po_id, lines=body.lines, user=principal.username
    )
    out = ReceiptOut(
        purchase_order=po_out(session, po),
        receipt_id=receipt.id,
        move=PostedMoveOut.model_validate(moved, from_attributes=True),
    )
    return idem.remember(out)
