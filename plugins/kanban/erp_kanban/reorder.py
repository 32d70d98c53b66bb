"""Reorder rules (a reorder point and order quantity per product and department store) and the
``stock_moved`` handler that raises a card when a store's balance falls to or below its point.

The handler reads the store's balance as committed now (not the event's view of it), and inserts with
``ON CONFLICT DO NOTHING`` against the one-open-card-per-product-and-store index: concurrent handlers,
late events and redelivered ones all leave at most one open card.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from erp_warehouse.models import Location, Product, StockBalance
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from erp_kanban.boards import canonical_department, column_for_state, department_board, same_department
from erp_kanban.cards import created, initial_state, insert_card
from erp_kanban.models import ReorderRule
from erp_kanban.schemas import RuleIn, RulePatch
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, ValidationFailed

ZERO = Decimal(0)


def _snapshot(rule: ReorderRule) -> dict[str, Any]:
    return {
        "product_id": rule.product_id,
        "location_id": rule.location_id,
        "reorder_point": str(rule.reorder_point),
        "order_qty": str(rule.order_qty),
        "priority": rule.priority,
        "active": rule.active,
    }


def store_department(session: Session, *, location_id: int) -> str:
    """The production department owning a store location; 422 when it is no department store."""
    location = session.get(Location, location_id)
    if location is None or not location.active or location.kind != "store" or not location.department:
        raise ValidationFailed(
            "reorder points are kept for department stores",
            errors=[{"field": "location_id", "message": "not an active department store"}],
        )
    return canonical_department(location.department)


def list_rules(
    session: Session,
    *,
    department: str | None = None,
    product_id: int | None = None,
    location_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ReorderRule], int]:
    """Reorder rules filtered by department (of the store), product and store."""
    stmt = select(ReorderRule)
    if department is not None:
        stmt = stmt.join(Location, Location.id == ReorderRule.location_id).where(
            func.lower(Location.department) == department.lower()
        )
    if product_id is not None:
        stmt = stmt.where(ReorderRule.product_id == product_id)
    if location_id is not None:
        stmt = stmt.where(ReorderRule.location_id == location_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(ReorderRule.id).offset(offset).limit(limit))
    return list(rows), total


def get_rule(session: Session, *, rule_id: int, department: str | None = None) -> ReorderRule:
    """One rule; NotFound when missing or (scoped callers) for another department's store."""
    rule = session.get(ReorderRule, rule_id)
    if rule is None or (
        department is not None
        and not same_department(store_department(session, location_id=rule.location_id), department)
    ):
        raise NotFound(f"reorder rule {rule_id} does not exist")
    return rule


def create_rule(session: Session, *, data: RuleIn, user: str | None) -> ReorderRule:
    """A reorder point for a product in a department store (one per product and store)."""
    store_department(session, location_id=data.location_id)
    product = session.get(Product, data.product_id)
    if product is None or not product.active:
        raise ValidationFailed(
            "unknown or inactive product", errors=[{"field": "product_id", "message": "unknown product"}]
        )
    if session.scalar(
        select(ReorderRule.id).where(
            ReorderRule.product_id == data.product_id, ReorderRule.location_id == data.location_id
        )
    ):
        raise Conflict("a reorder rule for this product and store exists; change it instead")
    now = utcnow()
    rule = ReorderRule(**data.model_dump(), active=True, created_by=user, created_at=now, updated_at=now)
    session.add(rule)
    session.flush()
    record_change(
        session, entity_type="kanban.reorder_rule", entity_id=rule.id, action="create", new=_snapshot(rule)
    )
    return rule


def update_rule(session: Session, *, rule_id: int, data: RulePatch) -> ReorderRule:
    """Change a rule's point, quantity, priority or active flag."""
    rule = get_rule(session, rule_id=rule_id)
    old = _snapshot(rule)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(rule, field, value)
    rule.updated_at = utcnow()
    session.flush()
    record_change(
        session,
        entity_type="kanban.reorder_rule",
        entity_id=rule.id,
        action="update",
        old=old,
        new=_snapshot(rule),
    )
    return rule


def delete_rule(session: Session, *, rule_id: int) -> None:
    """Delete a rule (cards it raised keep their history; their link to it is cleared)."""
    from erp_kanban.models import Card

    rule = get_rule(session, rule_id=rule_id)
    old = _snapshot(rule)
    session.query(Card).filter(Card.rule_id == rule.id).update({Card.rule_id: None})
    session.delete(rule)
    session.flush()
    record_change(session, entity_type="kanban.reorder_rule", entity_id=rule_id, action="delete", old=old)


def store_balance(session: Session, *, product_id: int, location_id: int) -> Decimal:
    """On hand of a product in a location, all lots together."""
    value = session.scalar(
        select(func.coalesce(func.sum(StockBalance.on_hand), 0)).where(
            StockBalance.product_id == product_id, StockBalance.location_id == location_id
        )
    )
    return Decimal(value or 0)


def raise_reorder_cards(session: Session, *, payload: Any) -> list[int]:
    """``on_stock_moved``: a card for every rule whose store balance is now at or below its point.

    Looks only at the move's source locations (where a balance falls). Returns the new card ids.
    """
    keys = {(line.product_id, line.from_location_id) for line in payload.lines if line.posted > 0}
    if not keys:
        return []
    rules = session.scalars(
        select(ReorderRule)
        .where(ReorderRule.active, tuple_(ReorderRule.product_id, ReorderRule.location_id).in_(sorted(keys)))
        .order_by(ReorderRule.id)
    )
    raised = []
    for rule in rules:
        card_id = raise_card_for(session, rule=rule)
        if card_id is not None:
            raised.append(card_id)
    return raised


def raise_card_for(session: Session, *, rule: ReorderRule) -> int | None:
    """Raise the rule's card when its store is at or below the point and no card is open; else None."""
    balance = store_balance(session, product_id=rule.product_id, location_id=rule.location_id)
    if balance > rule.reorder_point:
        return None
    department = store_department(session, location_id=rule.location_id)
    board = department_board(session, department=department)
    state = initial_state(board, rule.order_qty)
    column = column_for_state(session, board_id=board.id, state=state)
    card = insert_card(
        session,
        values={
            "board_id": board.id,
            # Signals from stock are never dropped: the WIP limit bounds what people pull, not this.
            "column_id": column.id if column is not None else None,
            "kind": "replenishment",
            "state": state,
            "product_id": rule.product_id,
            "quantity": rule.order_qty,
            "department": department,
            "store_location_id": rule.location_id,
            "priority": "urgent" if balance <= ZERO else rule.priority,
            "rule_id": rule.id,
            "note": f"reorder point {rule.reorder_point} reached: {balance} on hand",
            "requested_by": None,
            "approved_by": "auto" if state == "approved" else None,
            "approved_at": utcnow() if state == "approved" else None,
        },
    )
    if card is None:
        return None
    created(session, card, user=None, reason=f"balance {balance} <= reorder point {rule.reorder_point}")
    return card.id
