"""Cards: create, move along a board's allowed moves within WIP limits, approve, reject, cancel.

A card's state and its column agree: a column mapped to a state holds only cards in that state, so
moving a card into such a column is its state change (Approved needs ``kanban.card.approve``, Completed
needs ``kanban.card.fulfil`` and posts the stock move); a free column keeps the card's state. States only
go forward: Pending -> Approved -> In progress -> Completed; Pending -> Rejected; any open state ->
Cancelled. Rejected and cancelled cards leave the board (no column). Every change is a history row, an
audit entry and a WebSocket message after commit.

Concurrency: a move locks the card, then the target column row, and only then counts the column's open
cards, so concurrent moves into a full column cannot overshoot its WIP limit.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from erp_production.mo import department_store
from erp_production.models import ManufacturingOrder, Spk
from erp_warehouse.models import Location, Product
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_kanban import permissions as perm
from erp_kanban.boards import (
    canonical_department,
    column_for_state,
    department_board,
    get_board,
    same_department,
)
from erp_kanban.live import publish_card
from erp_kanban.models import OPEN_STATES, Board, BoardColumn, Card, CardEvent, Transition
from erp_kanban.schemas import CardIn
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.db import conflict_insert
from kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kernel.rbac import Principal

FORWARD: dict[str, tuple[str, ...]] = {
    "pending": ("approved",),
    "approved": ("in_progress",),
    "in_progress": ("completed",),
}
"""The state changes a move may make (reject and cancel are their own actions)."""


def check_actor(principal: Principal | None, permission: str, department: str) -> None:
    """PermissionDenied unless ``principal`` holds ``permission`` for ``department`` (None: the system)."""
    if principal is None:
        return
    scope = principal.department_scope(permission)  # raises when the permission is missing
    if scope is not None and not same_department(scope, department):
        raise PermissionDenied(f"{permission} is yours for {scope} only; this card belongs to {department}")


def get_card(session: Session, *, card_id: int, lock: bool = False, department: str | None = None) -> Card:
    """One card (locked when ``lock``); NotFound when missing or outside ``department`` (scoped callers)."""
    stmt = select(Card).where(Card.id == card_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    card = session.scalar(stmt)
    if card is None or (department is not None and not same_department(card.department, department)):
        raise NotFound(f"card {card_id} does not exist")
    return card


def history(session: Session, *, card_id: int) -> list[CardEvent]:
    """A card's history, oldest first."""
    return list(session.scalars(select(CardEvent).where(CardEvent.card_id == card_id).order_by(CardEvent.id)))


def list_cards(
    session: Session,
    *,
    department: str | None = None,
    board_id: int | None = None,
    state: str | None = None,
    priority: str | None = None,
    product_id: int | None = None,
    overdue_on: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Card], int]:
    """Cards filtered by department, board, state, priority, product and overdue (newest first)."""
    stmt = select(Card)
    if department is not None:
        stmt = stmt.where(func.lower(Card.department) == department.lower())
    if board_id is not None:
        stmt = stmt.where(Card.board_id == board_id)
    if state:
        stmt = stmt.where(Card.state == state)
    if priority:
        stmt = stmt.where(Card.priority == priority)
    if product_id is not None:
        stmt = stmt.where(Card.product_id == product_id)
    if overdue_on is not None:
        stmt = stmt.where(Card.needed_by < overdue_on, Card.state.in_(OPEN_STATES))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Card.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def snapshot(card: Card) -> dict[str, Any]:
    """The audited fields of a card."""
    return {
        "state": card.state,
        "column_id": card.column_id,
        "quantity": str(card.quantity),
        "priority": card.priority,
        "reason": card.reason,
        "move_id": card.move_id,
    }


def log(
    session: Session,
    card: Card,
    *,
    action: str,
    from_column_id: int | None,
    from_state: str | None,
    user: str | None,
    reason: str | None = None,
) -> None:
    """Add a history row for the card's current column and state."""
    session.add(
        CardEvent(
            card_id=card.id,
            action=action,
            from_column_id=from_column_id,
            to_column_id=card.column_id,
            from_state=from_state,
            to_state=card.state,
            reason=reason,
            user=user,
            at=utcnow(),
        )
    )
    session.flush()


def enter_column(session: Session, *, column: BoardColumn, card_id: int | None = None) -> None:
    """Lock ``column`` and refuse (409) when its open cards already reach its WIP limit."""
    locked = session.execute(
        select(BoardColumn.wip_limit, BoardColumn.name).where(BoardColumn.id == column.id).with_for_update()
    ).one()
    limit, name = locked
    if limit is None:
        return
    stmt = select(func.count(Card.id)).where(Card.column_id == column.id, Card.state.in_(OPEN_STATES))
    if card_id is not None:
        stmt = stmt.where(Card.id != card_id)
    count = session.scalar(stmt) or 0
    if count >= limit:
        raise Conflict(
            f"column {name!r} is full: WIP limit {limit}, {count} open cards in it",
            wip_limit=limit,
            column_id=column.id,
        )


def _resolve(session: Session, data: CardIn, department: str) -> tuple[Board, int]:
    errors = []
    product = session.get(Product, data.product_id)
    if product is None or not product.active:
        errors.append({"field": "product_id", "message": "unknown or inactive product"})
    if data.spk_id is not None and session.get(Spk, data.spk_id) is None:
        errors.append({"field": "spk_id", "message": "unknown SPK"})
    if data.mo_id is not None and session.get(ManufacturingOrder, data.mo_id) is None:
        errors.append({"field": "mo_id", "message": "unknown MO"})
    if data.source_location_id is not None:
        source = session.get(Location, data.source_location_id)
        if source is None or not source.active or source.kind != "warehouse":
            errors.append({"field": "source_location_id", "message": "not an active warehouse location"})
    store_id = data.store_location_id
    if store_id is not None:
        store = session.get(Location, store_id)
        if (
            store is None
            or not store.active
            or store.kind != "store"
            or not same_department(store.department, department)
        ):
            errors.append({"field": "store_location_id", "message": f"not an active store of {department}"})
    if errors:
        raise ValidationFailed("invalid card", errors=errors)
    if data.board_id is not None:
        board = get_board(session, board_id=data.board_id)
        if not board.active:
            raise Conflict(f"board {board.code} is inactive")
        if board.department is not None and not same_department(board.department, department):
            raise ValidationFailed(
                f"board {board.code} belongs to {board.department}, the card to {department}",
                errors=[{"field": "board_id", "message": "another department's board"}],
            )
    else:
        board = department_board(session, department=department)
    if store_id is None:
        store_id = department_store(session, department=department).id
    return board, store_id


def initial_state(board: Board, quantity: Any) -> str:
    """Approved when the board auto-approves this quantity (below its threshold), else Pending."""
    if board.auto_approve_below is not None and quantity < board.auto_approve_below:
        return "approved"
    return "pending"


def insert_card(session: Session, *, values: dict[str, Any]) -> Card | None:
    """Insert a card unless an open card for the same product and store (or SPK) exists: then None.

    ``ON CONFLICT DO NOTHING`` against the partial unique indexes, so concurrent inserts (two handlers,
    a redelivered event, two clicks) leave exactly one card whatever the interleaving.
    """
    now = utcnow()
    row = {"number": f"KB-{uuid.uuid4().hex[:16]}", "created_at": now, "updated_at": now, **values}
    new_id = session.execute(
        conflict_insert(session, Card.__table__)
        .values(**row)
        .on_conflict_do_nothing()
        .returning(Card.__table__.c.id)
    ).scalar()
    if new_id is None:
        return None
    card = session.get_one(Card, new_id)
    card.number = f"KB-{new_id:06d}"
    session.flush()
    return card


def open_card_for(session: Session, *, product_id: int, store_location_id: int) -> Card | None:
    """The open replenishment card of a product for a store, if any."""
    return session.scalar(
        select(Card).where(
            Card.kind == "replenishment",
            Card.product_id == product_id,
            Card.store_location_id == store_location_id,
            Card.state.in_(OPEN_STATES),
        )
    )


def create_card(session: Session, *, data: CardIn, principal: Principal | None) -> Card:
    """Create a replenishment card; 409 when one is open for the product and store already."""
    scope = principal.department_scope(perm.CARD_CREATE) if principal is not None else None
    name = data.department or scope or (principal.department if principal is not None else None)
    if name is None:
        raise ValidationFailed(
            "department is required", errors=[{"field": "department", "message": "required"}]
        )
    department = canonical_department(name)
    check_actor(principal, perm.CARD_CREATE, department)
    board, store_id = _resolve(session, data, department)
    state = initial_state(board, data.quantity)
    column = column_for_state(session, board_id=board.id, state=state) or _first_column(session, board)
    enter_column(session, column=column)
    user = principal.username if principal is not None else None
    card = insert_card(
        session,
        values={
            "board_id": board.id,
            "column_id": column.id,
            "kind": "replenishment",
            "state": state,
            "product_id": data.product_id,
            "quantity": data.quantity,
            "department": department,
            "store_location_id": store_id,
            "source_location_id": data.source_location_id,
            "priority": data.priority,
            "needed_by": data.needed_by,
            "spk_id": data.spk_id,
            "mo_id": data.mo_id,
            "note": data.note,
            "requested_by": user,
            "approved_by": "auto" if state == "approved" else None,
            "approved_at": utcnow() if state == "approved" else None,
        },
    )
    if card is None:
        existing = open_card_for(session, product_id=data.product_id, store_location_id=store_id)
        raise Conflict(
            f"card {existing.number if existing else '?'} is already open for this product and store",
            card_id=existing.id if existing else None,
        )
    created(session, card, user=user, reason="auto-approved below threshold" if state == "approved" else None)
    return card


def created(session: Session, card: Card, *, user: str | None, reason: str | None = None) -> None:
    """History, audit and push of a new card."""
    log(session, card, action="create", from_column_id=None, from_state=None, user=user, reason=reason)
    record_change(session, entity_type="kanban.card", entity_id=card.id, action="create", new=snapshot(card))
    publish_card(session, card, change="card_created")


def _first_column(session: Session, board: Board) -> BoardColumn:
    column = session.scalar(
        select(BoardColumn).where(BoardColumn.board_id == board.id).order_by(BoardColumn.position).limit(1)
    )
    if column is None:
        raise Conflict(f"board {board.code} has no columns")
    return column


def _open_card(session: Session, card_id: int, principal: Principal | None, permission: str) -> Card:
    scope = (
        principal.department_scope(perm.BOARD_VIEW) if principal and principal.has(perm.BOARD_VIEW) else None
    )
    card = get_card(session, card_id=card_id, lock=True, department=scope)
    check_actor(principal, permission, card.department)
    if card.kind == "production":
        raise Conflict(f"{card.number} follows its SPK's state; change the SPK, not the card")
    if card.state not in OPEN_STATES:
        raise Conflict(f"{card.number} is {card.state}; only an open card can change")
    return card


def move_card(
    session: Session, *, card_id: int, column_id: int, principal: Principal | None, reason: str | None = None
) -> Card:
    """Move a card along an allowed move into a column with room; the column's state becomes the card's."""
    card = _open_card(session, card_id, principal, perm.CARD_MOVE)
    target = session.get(BoardColumn, column_id)
    if target is None or target.board_id != card.board_id:
        raise ValidationFailed(
            f"column {column_id} is not on the board of {card.number}",
            errors=[{"field": "column_id", "message": "not a column of the card's board"}],
        )
    if target.id == card.column_id:
        return card
    allowed = session.scalar(
        select(Transition.id).where(
            Transition.from_column_id == card.column_id, Transition.to_column_id == target.id
        )
    )
    if allowed is None:
        current = session.get(BoardColumn, card.column_id) if card.column_id else None
        raise Conflict(
            f"moving {card.number} from {current.name if current else 'nowhere'!r} to {target.name!r} "
            "is not an allowed move on this board"
        )
    new_state = target.state or card.state
    if new_state != card.state:
        if new_state not in FORWARD.get(card.state, ()):
            raise Conflict(f"{card.number} is {card.state}; it cannot become {new_state}")
        if new_state == "approved":
            check_actor(principal, perm.CARD_APPROVE, card.department)
        if new_state == "completed":
            check_actor(principal, perm.CARD_FULFIL, card.department)
    enter_column(session, column=target, card_id=card.id)
    return _apply(
        session, card, state=new_state, column_id=target.id, action="move", principal=principal, reason=reason
    )


def _apply(
    session: Session,
    card: Card,
    *,
    state: str,
    column_id: int | None,
    action: str,
    principal: Principal | None,
    reason: str | None = None,
) -> Card:
    from erp_kanban.fulfil import fulfil

    user = principal.username if principal is not None else None
    old = snapshot(card)
    from_column, from_state = card.column_id, card.state
    now = utcnow()
    if state == "completed" and from_state != "completed":
        fulfil(session, card=card, user=user)  # 409 and nothing written when stock is short
        card.completed_by, card.completed_at, card.closed_at = user, now, now
    if state == "approved" and from_state == "pending":
        card.approved_by, card.approved_at = user, now
    if state in ("rejected", "cancelled"):
        card.closed_at = now
        card.reason = reason
    card.state, card.column_id, card.updated_at = state, column_id, now
    session.flush()
    log(
        session,
        card,
        action=action,
        from_column_id=from_column,
        from_state=from_state,
        user=user,
        reason=reason,
    )
    record_change(
        session, entity_type="kanban.card", entity_id=card.id, action=action, old=old, new=snapshot(card)
    )
    publish_card(session, card, change="card_moved" if from_column != column_id else "card_changed")
    return card


def approve_card(session: Session, *, card_id: int, principal: Principal | None) -> Card:
    """Approve a pending card: it goes to the board's Approved column (within its WIP limit)."""
    card = _open_card(session, card_id, principal, perm.CARD_APPROVE)
    if card.state != "pending":
        raise Conflict(f"{card.number} is {card.state}; only a pending card can be approved")
    target = column_for_state(session, board_id=card.board_id, state="approved")
    column_id = card.column_id
    if target is not None:
        enter_column(session, column=target, card_id=card.id)
        column_id = target.id
    return _apply(session, card, state="approved", column_id=column_id, action="approve", principal=principal)


def reject_card(session: Session, *, card_id: int, principal: Principal | None, reason: str) -> Card:
    """Reject a pending card with a reason; it leaves the board."""
    card = _open_card(session, card_id, principal, perm.CARD_APPROVE)
    if card.state != "pending":
        raise Conflict(f"{card.number} is {card.state}; only a pending card can be rejected")
    return _apply(
        session, card, state="rejected", column_id=None, action="reject", principal=principal, reason=reason
    )


def cancel_card(session: Session, *, card_id: int, principal: Principal | None, reason: str) -> Card:
    """Cancel an open card with a reason (its requester's department, or planners); it leaves the board."""
    card = _open_card(session, card_id, principal, perm.CARD_CREATE)
    return _apply(
        session, card, state="cancelled", column_id=None, action="cancel", principal=principal, reason=reason
    )
