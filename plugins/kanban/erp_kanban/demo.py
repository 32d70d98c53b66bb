"""Demo data: every department board, WIP limits, reorder rules for the stores' consumables, a few cards.

Idempotent: boards are created once, rules looked up by product and store, cards raised only when no
open card exists (the reorder handler's own rule). SPK cards appear when the production demo's events
are handled by a worker.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from erp_warehouse.models import Location, Product
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_kanban.boards import column_for_state, department_board, ensure_department_boards
from erp_kanban.cards import created, insert_card, open_card_for
from erp_kanban.models import Board, ReorderRule
from erp_kanban.reorder import raise_card_for
from kernel.clock import utcnow

# department, product, reorder point, order quantity
RULES = [
    ("packing", "CTN-60", "40", "100"),
    ("packing", "LBL-CARE", "300", "1000"),
    ("packing", "LBL-HANG", "300", "1000"),
    ("finishing", "FIL-POLY", "20000", "50000"),
    ("sewing", "THR-BRN", "5", "12"),
    ("embroidery", "THR-BRN", "2", "6"),
]
# department, product, quantity, priority, needed in days
CARDS = [("cutting", "FAB-FELT-BLK", "5", "high", 2), ("sewing", "EYE-12MM", "400", "normal", 5)]


def load_demo_data(session: Session) -> None:
    """Boards with a WIP limit of 5 on In progress, reorder rules, and open cards to look at."""
    products = {p.code: p.id for p in session.scalars(select(Product))}
    stores = {
        (loc.department or "").lower(): loc.id
        for loc in session.scalars(select(Location).where(Location.kind == "store", Location.active))
    }
    if "CTN-60" not in products or "packing" not in stores:
        return  # the warehouse demo data is missing
    ensure_department_boards(session)
    for board in session.scalars(select(Board).where(Board.kind == "department")):
        column = column_for_state(session, board_id=board.id, state="in_progress")
        if column is not None and column.wip_limit is None:
            column.wip_limit = 5
        if board.auto_approve_below is None and board.department == "Packing":
            board.auto_approve_below = Decimal(50)
    now = utcnow()
    for department, code, point, qty in RULES:
        key = (products[code], stores[department])
        rule = session.scalar(
            select(ReorderRule).where(ReorderRule.product_id == key[0], ReorderRule.location_id == key[1])
        )
        if rule is None:
            rule = ReorderRule(
                product_id=key[0],
                location_id=key[1],
                reorder_point=Decimal(point),
                order_qty=Decimal(qty),
                priority="normal",
                active=True,
                created_by="demo",
                created_at=now,
                updated_at=now,
            )
            session.add(rule)
            session.flush()
        raise_card_for(session, rule=rule)  # the stores start empty: at or below every point
    for department, code, qty, priority, days in CARDS:
        store = stores[department]
        if open_card_for(session, product_id=products[code], store_location_id=store) is not None:
            continue
        home = department_board(session, department=department)
        column = column_for_state(session, board_id=home.id, state="pending")
        card = insert_card(
            session,
            values={
                "board_id": home.id,
                "column_id": column.id if column else None,
                "kind": "replenishment",
                "state": "pending",
                "product_id": products[code],
                "quantity": Decimal(qty),
                "department": home.department,
                "store_location_id": store,
                "priority": priority,
                "needed_by": (now + timedelta(days=days)).date(),
                "requested_by": "demo",
            },
        )
        if card is not None:
            created(session, card, user="demo")
