"""Card routes: list, create, read with history, move, approve, reject, cancel."""

from __future__ import annotations

from typing import Annotated

from erp_production.daily import site_today
from fastapi import APIRouter, Depends

from erp_kanban import cards as service
from erp_kanban import permissions as perm
from erp_kanban.schemas import CardDetailOut, CardIn, CardOut, CardState, MoveIn, Priority, ReasonIn
from kernel.deps import SessionDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/cards", tags=["kanban: cards"])


@router.get("", response_model=Page[CardOut])
def list_cards(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.BOARD_VIEW))],
    board_id: int | None = None,
    department: str | None = None,
    state: CardState | None = None,
    priority: Priority | None = None,
    product_id: int | None = None,
    overdue: bool = False,
) -> Page[CardOut]:
    """Cards, newest first; department roles see their department's only."""
    rows, total = service.list_cards(
        session,
        department=principal.department_scope(perm.BOARD_VIEW) or department,
        board_id=board_id,
        state=state,
        priority=priority,
        product_id=product_id,
        overdue_on=site_today(session) if overdue else None,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[CardOut.model_validate(c) for c in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/create", status_code=201, response_model=CardOut)
def create_card(
    body: CardIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.CARD_CREATE))],
    idem: IdempotencyDep,
) -> CardOut:
    """Request material: a card on the department's board (Pending, or Approved below the board's
    auto-approve threshold). 409 when a card is open for the product and store, or the column is full.
    Safe to retry with an Idempotency-Key."""
    card = service.create_card(session, data=body, principal=principal)
    return idem.remember(CardOut.model_validate(card), status_code=201)


@router.get("/{card_id}", response_model=CardDetailOut)
def get_card(
    card_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.BOARD_VIEW))]
) -> CardDetailOut:
    """A card with its history (every move and state change, oldest first)."""
    card = service.get_card(session, card_id=card_id, department=principal.department_scope(perm.BOARD_VIEW))
    out = CardOut.model_validate(card).model_dump()
    return CardDetailOut.model_validate({**out, "history": service.history(session, card_id=card.id)})


@router.put("/{card_id}/move", response_model=CardOut)
def move_card(
    card_id: int,
    body: MoveIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.CARD_MOVE))],
) -> CardOut:
    """Move a card into another column along an allowed move. 409 when the move is not allowed or the
    column is at its WIP limit (the limit is in the message); moving into Approved needs
    kanban.card.approve, into Completed kanban.card.fulfil (posts the stock transfer)."""
    card = service.move_card(
        session, card_id=card_id, column_id=body.column_id, principal=principal, reason=body.reason
    )
    return CardOut.model_validate(card)


@router.post("/{card_id}/approve", response_model=CardOut)
def approve_card(
    card_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.CARD_APPROVE))]
) -> CardOut:
    """Approve a pending card (it moves to the Approved column, within its WIP limit)."""
    return CardOut.model_validate(service.approve_card(session, card_id=card_id, principal=principal))


@router.post("/{card_id}/reject", response_model=CardOut)
def reject_card(
    card_id: int,
    body: ReasonIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.CARD_APPROVE))],
) -> CardOut:
    """Reject a pending card with a reason."""
    return CardOut.model_validate(
        service.reject_card(session, card_id=card_id, principal=principal, reason=body.reason)
    )


@router.post("/{card_id}/cancel", response_model=CardOut)
def cancel_card(
    card_id: int,
    body: ReasonIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.CARD_CREATE))],
) -> CardOut:
    """Cancel an open card with a reason."""
    return CardOut.model_validate(
        service.cancel_card(session, card_id=card_id, principal=principal, reason=body.reason)
    )
