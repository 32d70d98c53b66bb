"""Cards through the services: lifecycle, allowed moves, WIP limits under concurrency, permissions,
fulfilment into the department store."""

from __future__ import annotations

from decimal import Decimal

import pytest
from erp_kanban import cards
from erp_kanban.checks import cards_agree_with_their_columns
from erp_kanban.models import Card, CardEvent
from erp_warehouse.models import StockBalance
from kanban_testkit import Shop, principal, run_concurrently
from sqlalchemy import func, select

from kernel.audit.models import AuditLog
from kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

D = Decimal


def move(
    shop: Shop, card_id: int, column_id: int, role: str = "Warehouse Admin", dept: str | None = None
) -> Card:
    with shop.session() as s:
        return cards.move_card(
            s, card_id=card_id, column_id=column_id, principal=principal(shop.site, role, dept)
        )


def test_a_card_walks_pending_approved_in_progress_completed_and_keeps_its_history(shop: Shop) -> None:
    shop.stock_in("THR", "MAIN", "50")
    board = shop.board("Sewing")
    card_id = shop.card("THR", "12", priority="high")
    card = shop.get(card_id)
    assert (card.state, card.column_id, card.number) == (
        "pending",
        board["columns"]["pending"],
        f"KB-{card_id:06d}",
    )
    assert card.store_location_id == shop.locations["SEWING"]
    move(shop, card_id, board["columns"]["approved"], "SPV Sewing")
    move(shop, card_id, board["columns"]["in_progress"], "Warehouse Operator")
    move(shop, card_id, board["columns"]["completed"], "Warehouse Operator")
    card = shop.get(card_id)
    assert (
        card.state == "completed" and card.move_id is not None and card.completed_by == "warehouse_operator"
    )
    assert shop.on_hand("THR", "MAIN") == D(38)
    assert shop.on_hand("THR", "SEWING") == D(12)
    assert shop.ledger(card.number) == [
        (shop.products["THR"], shop.locations["MAIN"], shop.locations["SEWING"], D(12))
    ]
    assert shop.history(card_id) == [
        ("create", None, "pending"),
        ("move", "pending", "approved"),
        ("move", "approved", "in_progress"),
        ("move", "in_progress", "completed"),
    ]
    with shop.site.sessions() as s:
        actions = list(
            s.scalars(
                select(AuditLog.action)
                .where(AuditLog.entity_type == "kanban.card", AuditLog.entity_id == str(card_id))
                .order_by(AuditLog.id)
            )
        )
    assert actions == ["create", "move", "move", "move"]
    with shop.site.sessions() as s:
        assert list(cards_agree_with_their_columns(s)) == []


def test_moves_follow_the_allowed_moves_and_the_lifecycle(shop: Shop) -> None:
    board = shop.board("Sewing")
    card_id = shop.card("THR", "3")
    with pytest.raises(Conflict, match="not an allowed move"):
        move(shop, card_id, board["columns"]["in_progress"])
    with pytest.raises(Conflict, match="not an allowed move"):
        move(shop, card_id, board["columns"]["completed"])
    other = shop.board("Cutting")
    with pytest.raises(ValidationFailed):
        move(shop, card_id, other["columns"]["approved"])
    assert shop.get(card_id).state == "pending"
    assert shop.history(card_id) == [("create", None, "pending")]


def test_permissions_decide_who_approves_fulfils_and_for_which_department(shop: Shop) -> None:
    board = shop.board("Sewing")
    card_id = shop.card("THR", "3")
    with pytest.raises(PermissionDenied):  # admins enter data; approving is the SPV's
        move(shop, card_id, board["columns"]["approved"], "Admin Sewing")
    with pytest.raises(NotFound):  # another department's SPV does not see the card at all
        move(shop, card_id, board["columns"]["approved"], "SPV Cutting")
    move(shop, card_id, board["columns"]["approved"], "SPV Sewing")
    move(shop, card_id, board["columns"]["in_progress"], "Admin Sewing")
    with pytest.raises(PermissionDenied):  # fulfilment posts stock: the warehouse's job
        move(shop, card_id, board["columns"]["completed"], "Admin Sewing")
    with shop.session() as s, pytest.raises(PermissionDenied):
        cards.create_card(
            s,
            data=cards.CardIn(product_id=shop.products["THR"], quantity=D(1), department="Sewing"),
            principal=principal(shop.site, "Admin Cutting"),
        )
    with shop.session() as s:  # a department role's card defaults to its own department
        own = cards.create_card(
            s,
            data=cards.CardIn(product_id=shop.products["FILL"], quantity=D(5)),
            principal=principal(shop.site, "Admin Cutting"),
        )
        assert (own.department, own.store_location_id) == ("Cutting", shop.locations["CUTTING"])


def test_wip_limit_20_concurrent_moves_into_a_column_of_5_leave_exactly_5(shop: Shop) -> None:
    board = shop.board("Sewing")
    shop.set_wip(board["columns"]["in_progress"], 5)
    products = []
    for i in range(20):  # one open card per product and store: 20 products
        with shop.session() as s:
            from erp_warehouse import masterdata
            from erp_warehouse.schemas import ProductIn

            products.append(
                masterdata.create_record(
                    s,
                    kind="products",
                    data=ProductIn(
                        code=f"CONS-{i}", name=f"Consumable {i}", type="auxiliary", unit_id=shop.units["PCS"]
                    ),
                ).id
            )
    ids = []
    for product_id in products:
        with shop.session() as s:
            card = cards.create_card(
                s,
                data=cards.CardIn(product_id=product_id, quantity=D(1), department="Sewing"),
                principal=principal(shop.site, "PPIC Manager"),
            )
            cards.approve_card(s, card_id=card.id, principal=principal(shop.site, "SPV Sewing"))
            ids.append(card.id)
    results = run_concurrently(
        20, lambda i: move(shop, ids[i], board["columns"]["in_progress"], "Warehouse Operator")
    )
    moved = [r for r in results if isinstance(r, Card)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(moved) == 5, results
    assert len(refused) == 15
    assert all("WIP limit 5" in str(r) for r in refused)
    with shop.site.sessions() as s:
        in_column = s.scalar(
            select(func.count(Card.id)).where(Card.column_id == board["columns"]["in_progress"])
        )
        moves = s.scalar(select(func.count(CardEvent.id)).where(CardEvent.to_state == "in_progress"))
    assert (in_column, moves) == (5, 5)


def test_one_open_card_per_product_and_store_and_auto_approval_below_the_threshold(shop: Shop) -> None:
    card_id = shop.card("THR", "3")
    with pytest.raises(Conflict, match=f"KB-{card_id:06d} is already open"):
        shop.card("THR", "4")
    board = shop.board("Packing")
    with shop.session() as s:
        from erp_kanban.models import Board

        s.get_one(Board, board["id"]).auto_approve_below = D(10)
    small = shop.get(shop.card("LBL", "9.5", department="Packing"))
    big = shop.get(shop.card("FILL", "10", department="Packing"))
    assert (small.state, small.column_id, small.approved_by) == (
        "approved",
        board["columns"]["approved"],
        "auto",
    )
    assert (big.state, big.column_id) == ("pending", board["columns"]["pending"])


def test_reject_and_cancel_need_a_reason_and_take_the_card_off_the_board(shop: Shop) -> None:
    first, second = shop.card("THR", "3"), shop.card("FILL", "100")
    with shop.session() as s:
        cards.reject_card(
            s, card_id=first, principal=principal(shop.site, "SPV Sewing"), reason="enough on the line"
        )
        cards.cancel_card(
            s, card_id=second, principal=principal(shop.site, "Admin Sewing"), reason="ordered twice"
        )
    rejected, cancelled = shop.get(first), shop.get(second)
    assert (rejected.state, rejected.column_id, rejected.reason) == ("rejected", None, "enough on the line")
    assert (cancelled.state, cancelled.column_id, cancelled.reason) == ("cancelled", None, "ordered twice")
    with shop.session() as s, pytest.raises(Conflict):
        cards.approve_card(s, card_id=first, principal=principal(shop.site, "SPV Sewing"))
    shop.card("THR", "3")  # a closed card no longer blocks a new one
    with shop.site.sessions() as s:
        assert list(cards_agree_with_their_columns(s)) == []
        s.get_one(Card, first).column_id = shop.board("Sewing")["columns"]["pending"]
        assert list(cards_agree_with_their_columns(s)) == [
            f"card KB-{first:06d} is rejected but sits in the pending column",
            f"card KB-{first:06d} is rejected but still on the board",
        ]


def test_completing_with_too_little_stock_is_refused_and_writes_nothing(shop: Shop) -> None:
    shop.stock_in("FILL", "MAIN", "100")
    board = shop.board("Finishing")
    card_id = shop.card("FILL", "250", department="Finishing")
    move(shop, card_id, board["columns"]["approved"], "SPV Finishing")
    move(shop, card_id, board["columns"]["in_progress"])
    with pytest.raises(Conflict):
        move(shop, card_id, board["columns"]["completed"])
    card = shop.get(card_id)
    assert (card.state, card.move_id) == ("in_progress", None)
    assert shop.on_hand("FILL", "MAIN") == D(100)
    with shop.site.sessions() as s:
        assert (
            s.scalar(select(StockBalance.id).where(StockBalance.location_id == shop.locations["FINISHING"]))
            is None
        )
    assert shop.ledger(card.number) == []
