"""Transfers of WIP between department stores: send, list, read, accept, cancel.

Department-scoped roles (SPV <dept>, Admin <dept>) act only on their own department's store: the scope
comes from ``principal.department_scope(permission)`` and the service refuses any other store.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends

from erp_warehouse import permissions as perm
from erp_warehouse import transfers
from erp_warehouse.routes.common import page_of
from erp_warehouse.schemas import TransferAcceptIn, TransferIn, TransferOut
from kernel.deps import SessionDep, SiteDep
from kernel.errors import NotFound
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/transfer", tags=["warehouse: transfers"])


@router.post("/inter-dept", status_code=201, response_model=TransferOut)
def send_transfer(
    body: TransferIn,
    session: SessionDep,
    site: SiteDep,
    principal: Annotated[Principal, Depends(require(perm.TRANSFER_SEND))],
    idem: IdempotencyDep,
) -> TransferOut:
    """Send WIP from a department store to the next (409 when the receiving line is not clear or stock
    is short; 403 from another department's store). Safe to retry with an Idempotency-Key."""
    transfer = transfers.send_transfer(
        session,
        hooks=site.registry.pm.hook,
        **body.model_dump(),
        user=principal.username,
        department=principal.department_scope(perm.TRANSFER_SEND),
    )
    return idem.remember(TransferOut.model_validate(transfer), status_code=201)


@router.get("", response_model=Page[TransferOut])
def list_transfers(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.TRANSFER_VIEW))],
    state: Literal["sent", "accepted", "cancelled"] | None = None,
    location_id: int | None = None,
) -> Page[TransferOut]:
    """Transfers, newest first (department roles see those touching their department's store)."""
    rows, total = transfers.list_transfers(
        session,
        state=state,
        location_id=location_id,
        department=principal.department_scope(perm.TRANSFER_VIEW),
        limit=page.limit,
        offset=page.offset,
    )
    return page_of([TransferOut.model_validate(t) for t in rows], total, page)


@router.get("/{transfer_id}", response_model=TransferOut)
def get_transfer(
    transfer_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.TRANSFER_VIEW))],
) -> TransferOut:
    """One transfer (404 for a department role when neither side is its department's store)."""
    scope = principal.department_scope(perm.TRANSFER_VIEW)
    transfer = transfers.get_transfer(session, transfer_id=transfer_id)
    if scope is not None and not transfers.touches_department(session, transfer, scope):
        raise NotFound(f"transfer {transfer_id} does not exist")
    return TransferOut.model_validate(transfer)


@router.post("/{transfer_id}/accept", response_model=TransferOut)
def accept_transfer(
    transfer_id: int,
    body: TransferAcceptIn,
    session: SessionDep,
    site: SiteDep,
    principal: Annotated[Principal, Depends(require(perm.TRANSFER_ACCEPT))],
    idem: IdempotencyDep,
) -> TransferOut:
    """Accept a sent transfer with the counted quantity (422 when more than 10% off; 409 when it is not
    open; 403 into another department's store). Safe to retry with an Idempotency-Key."""
    transfer = transfers.accept_transfer(
        session,
        hooks=site.registry.pm.hook,
        transfer_id=transfer_id,
        received_qty=body.received_qty,
        user=principal.username,
        department=principal.department_scope(perm.TRANSFER_ACCEPT),
    )
    return idem.remember(TransferOut.model_validate(transfer))


@router.post("/{transfer_id}/cancel", response_model=TransferOut)
def cancel_transfer(
    transfer_id: int,
    session: SessionDep,
    site: SiteDep,
    principal: Annotated[Principal, Depends(require(perm.TRANSFER_CANCEL))],
    idem: IdempotencyDep,
) -> TransferOut:
    """Cancel a sent transfer; the quantity returns to the sending store (409 when not open)."""
    transfer = transfers.cancel_transfer(
        session,
        hooks=site.registry.pm.hook,
        transfer_id=transfer_id,
        user=principal.username,
        department=principal.department_scope(perm.TRANSFER_CANCEL),
    )
    return idem.remember(TransferOut.model_validate(transfer))
