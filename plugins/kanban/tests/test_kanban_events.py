"""Event paths: reorder points raise exactly one card (``on_stock_moved``), SPK cards follow their SPK
(``on_mo_released``, ``on_spk_started``, ``on_spk_completed``), completion emits
``kanban_card_completed``. Inline (drain_events) and with real worker processes and duplicated messages."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from dramatiq.middleware import Middleware
from erp_kanban import cards
from erp_kanban.checks import cards_agree_with_their_columns
from erp_kanban.models import Card, ReorderRule
from erp_kanban.reorder import raise_reorder_cards
from erp_production import mo, spk
from erp_production.schemas import MoIn
from erp_warehouse.events import StockMoved
from erp_warehouse.stock import MoveLine, post_stock_move
from kanban_testkit import Shop, principal, run_concurrently
from sqlalchemy import func, select

from kernel.errors import Conflict
from kernel.events.declare import event_registry
from kernel.events.models import OutboxEvent
from kernel.events.relay import Relay, start_relay_thread
from kernel.events.worker import site_bus
from kernel.testing import drain_events, wait_until

D = Decimal


def add_rule(shop: Shop, product: str, store: str, point: str, qty: str) -> int:
    with shop.session() as s:
        rule = ReorderRule(
            product_id=shop.products[product],
            location_id=shop.locations[store],
            reorder_point=D(point),
            order_qty=D(qty),
            priority="normal",
            active=True,
        )
        s.add(rule)
        s.flush()
        return rule.id


def consume(shop: Shop, product: str, store: str, qty: str, reference: str = "USE") -> None:
    line = MoveLine(shop.products[product], shop.locations[store], shop.locations["PRODUCTION"], D(qty))
    with shop.session() as s:
        post_stock_move(s, hooks=shop.hooks, lines=[line], reference=reference, user="op")


def stock_moved_payloads(shop: Shop) -> list[dict[str, Any]]:
    with shop.site.sessions() as s:
        return list(s.scalars(select(OutboxEvent.payload).where(OutboxEvent.name == "stock_moved")))


def fulfil(shop: Shop, card_id: int) -> Card:
    card = shop.get(card_id)
    board = shop.board(card.department)
    with shop.session() as s:
        if card.state == "pending":
            cards.approve_card(s, card_id=card_id, principal=principal(shop.site, "Manager"))
        who = principal(shop.site, "Warehouse Admin")
        cards.move_card(s, card_id=card_id, column_id=board["columns"]["in_progress"], principal=who)
        return cards.move_card(s, card_id=card_id, column_id=board["columns"]["completed"], principal=who)


def test_on_stock_moved_raises_one_card_at_the_reorder_point_and_completing_it_refills_the_store(
    shop: Shop,
) -> None:
    shop.stock_in("THR", "SEWING", "20")
    shop.stock_in("THR", "MAIN", "100")
    rule_id = add_rule(shop, "THR", "SEWING", point="5", qty="12")
    consume(shop, "THR", "SEWING", "10")
    drain_events(shop.site)
    assert shop.open_cards("THR", "SEWING") == []  # 10 on hand, above the point
    consume(shop, "THR", "SEWING", "5")  # 5: at the point
    consume(shop, "THR", "SEWING", "2")  # 3: still below, the card is open already
    drain_events(shop.site)
    [card] = shop.open_cards("THR", "SEWING")
    assert (card.state, card.quantity, card.rule_id, card.department) == ("pending", D(12), rule_id, "Sewing")
    assert card.board_id == shop.board("Sewing")["id"]
    # A redelivered event (handled again, past the inbox) finds the open card and adds nothing.
    with shop.session() as s:
        for payload in stock_moved_payloads(shop):
            raise_reorder_cards(s, payload=StockMoved.model_validate(payload))
    assert [c.id for c in shop.open_cards("THR", "SEWING")] == [card.id]
    done = fulfil(shop, card.id)
    assert shop.on_hand("THR", "SEWING") == D(15)
    assert shop.on_hand("THR", "MAIN") == D(88)
    assert shop.ledger(done.number) == [
        (shop.products["THR"], shop.locations["MAIN"], shop.locations["SEWING"], D(12))
    ]
    drain_events(shop.site)  # the refill's own stock_moved: MAIN has no rule, SEWING went up
    assert shop.open_cards("THR", "SEWING") == []
    consume(shop, "THR", "SEWING", "11")  # 4 left: a new card, the first one is completed
    drain_events(shop.site)
    [again] = shop.open_cards("THR", "SEWING")
    assert again.id != card.id


def test_on_stock_moved_concurrent_moves_and_concurrent_handlers_raise_exactly_one_card(shop: Shop) -> None:
    shop.stock_in("FILL", "FINISHING", "30")
    add_rule(shop, "FILL", "FINISHING", point="20", qty="500")
    run_concurrently(20, lambda i: consume(shop, "FILL", "FINISHING", "1", reference=f"USE-{i}"))
    payloads = [
        StockMoved.model_validate(p) for p in stock_moved_payloads(shop) if p["reference"] != "OPENING"
    ]
    assert len(payloads) == 20

    def handle(i: int) -> list[int]:
        with shop.session() as s:
            return raise_reorder_cards(s, payload=payloads[i])

    results = run_concurrently(20, handle)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(len(r) for r in results if isinstance(r, list)) == 1
    drain_events(shop.site)  # the same 20 events through the kernel's delivery
    assert len(shop.open_cards("FILL", "FINISHING")) == 1
    assert shop.count_cards() == 1


class EnqueueTwice(Middleware):
    """Broker middleware: every message is enqueued a second time (a redelivery of each event)."""

    def __init__(self) -> None:
        self.duplicates = 0

    def after_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        if not message.options.get("duplicate"):
            self.duplicates += 1
            broker.enqueue(message.copy(options={"duplicate": True}))


@pytest.mark.slow
def test_on_stock_moved_with_real_workers_and_every_event_delivered_twice_raises_one_card(
    make_shop, event_worker, broker_namespace: str, redis_url: str
) -> None:
    shop = make_shop(
        broker="redis",
        broker_url=redis_url,
        broker_namespace=broker_namespace,
        events_backoff_base=0.05,
        events_backoff_max=0.2,
    )
    shop.stock_in("LBL", "PACKING", "100")
    shop.stock_in("LBL", "MAIN", "1000")
    add_rule(shop, "LBL", "PACKING", point="80", qty="400")
    bus = site_bus(shop.site)
    twice = EnqueueTwice()
    bus.broker.add_middleware(twice)
    stop = threading.Event()
    relay = start_relay_thread(Relay(shop.site, event_registry(shop.site.registry), bus), stop)
    worker = event_worker(shop.site.settings, processes=2, threads=4, relay=False)
    try:
        run_concurrently(30, lambda i: consume(shop, "LBL", "PACKING", "1", reference=f"PACK-{i}"))
        cards_now = wait_until(lambda: shop.open_cards("LBL", "PACKING"), timeout=60)
        wait_until(lambda: _all_delivered(shop), timeout=60, interval=0.2)
    finally:
        stop.set()
        relay.join()
        bus.close()
    assert twice.duplicates >= 32  # 30 consumptions + 2 stock-ins, each sent twice
    assert len(cards_now) == 1 and len(shop.open_cards("LBL", "PACKING")) == 1
    assert shop.count_cards() == 1
    done = fulfil(shop, cards_now[0].id)
    assert shop.on_hand("LBL", "PACKING") == D(70 + 400)
    assert shop.ledger(done.number) == [
        (shop.products["LBL"], shop.locations["MAIN"], shop.locations["PACKING"], D(400))
    ]
    worker.stop()


def _all_delivered(shop: Shop) -> bool:
    from kernel.events.delivery import open_count

    with shop.site.sessions() as s:
        return open_count(s)[0] == 0


def release(shop: Shop, batch: str = "B-1") -> list[int]:
    with shop.session() as s:
        order = mo.create_mo(
            s,
            data=MoIn(
                product_id=shop.products["TEDDY"],
                quantity=D(100),
                routing="route1",
                batch_number=batch,
                week="W05-2026",
                destination="SE",
            ),
        )
        _, created = mo.release_mo(s, mo_id=order.id, level="full", user="ppic")
        return [x.id for x in created]


def spk_card(shop: Shop, spk_id: int) -> Card:
    with shop.site.sessions() as s:
        card = s.scalar(select(Card).where(Card.spk_id == spk_id, Card.kind == "production"))
        assert card is not None
        s.expunge(card)
        return card


def test_on_mo_released_on_spk_started_on_spk_completed_the_spk_card_follows_its_spk(shop: Shop) -> None:
    spk_ids = release(shop)
    drain_events(shop.site)
    cutting = spk_card(shop, spk_ids[0])
    board = shop.board("Cutting")
    assert (cutting.state, cutting.column_id, cutting.board_id) == (
        "approved",
        board["columns"]["approved"],
        board["id"],
    )
    assert cutting.quantity == D(110)  # Cutting plans 10% above the MO
    with shop.site.sessions() as s:  # one card per SPK, each on its department's board
        departments = dict(
            s.execute(select(Card.spk_id, Card.department).where(Card.kind == "production")).tuples().all()
        )
    assert sorted(departments.values()) == sorted(["Cutting", "Embroidery", "Sewing", "Finishing", "Packing"])
    with shop.session() as s:
        spk.start_spk(s, spk_id=spk_ids[0], user="op")
    drain_events(shop.site)
    assert (spk_card(shop, spk_ids[0]).state, spk_card(shop, spk_ids[0]).column_id) == (
        "in_progress",
        board["columns"]["in_progress"],
    )
    with shop.session() as s:
        spk.complete_spk(s, spk_id=spk_ids[0], user="op")
    drain_events(shop.site)
    done = spk_card(shop, spk_ids[0])
    assert (done.state, done.column_id) == ("completed", board["columns"]["completed"])
    assert shop.history(done.id) == [
        ("create", None, "approved"),
        ("sync", "approved", "in_progress"),
        ("sync", "in_progress", "completed"),
    ]
    with shop.session() as s, pytest.raises(Conflict, match="follows its SPK"):
        cards.move_card(s, card_id=done.id, column_id=board["columns"]["approved"], principal=None)
    assert shop.count_cards() == 5
    with shop.site.sessions() as s:
        assert list(cards_agree_with_their_columns(s)) == []


def test_spk_cards_converge_when_events_come_late_twice_or_out_of_order(shop: Shop) -> None:
    from erp_kanban.spk_cards import sync_spk_cards

    spk_ids = release(shop)
    with shop.session() as s:
        spk.start_spk(s, spk_id=spk_ids[0], user="op")
    # The start is handled before the release, then the release (late), then both again.
    for ids in ([spk_ids[0]], spk_ids, spk_ids, [spk_ids[0]]):
        with shop.session() as s:
            sync_spk_cards(s, spk_ids=ids)
    assert spk_card(shop, spk_ids[0]).state == "in_progress"
    assert shop.count_cards() == 5
    assert shop.history(spk_card(shop, spk_ids[0]).id) == [("create", None, "in_progress")]


def test_on_kanban_card_completed_is_emitted_with_the_move_in_the_completing_transaction(shop: Shop) -> None:
    shop.stock_in("THR", "MAIN", "10")
    card = fulfil(shop, shop.card("THR", "4"))
    with shop.site.sessions() as s:
        payloads = list(
            s.scalars(select(OutboxEvent.payload).where(OutboxEvent.name == "kanban_card_completed"))
        )
        aggregates = list(
            s.scalars(select(OutboxEvent.aggregate).where(OutboxEvent.name == "kanban_card_completed"))
        )
    assert payloads == [
        {
            "card_id": card.id,
            "number": card.number,
            "board_id": card.board_id,
            "department": "Sewing",
            "product_id": shop.products["THR"],
            "quantity": "4.0000",
            "from_location_id": shop.locations["MAIN"],
            "to_location_id": shop.locations["SEWING"],
            "move_id": card.move_id,
            "spk_id": None,
            "completed_by": "warehouse_admin",
        }
    ]
    assert aggregates == [f"kanban_card:{card.id}"]
    drain_events(shop.site)  # no subscriber fails on it


def test_on_kanban_card_completed_is_not_emitted_when_completion_is_refused(shop: Shop) -> None:
    card_id = shop.card("THR", "4")  # MAIN holds nothing
    with pytest.raises(Conflict, match=r"not enough stock of THR at MAIN: 4\.0000 needed, 0 available"):
        fulfil(shop, card_id)
    with shop.site.sessions() as s:
        assert s.scalar(select(func.count()).where(OutboxEvent.name == "kanban_card_completed")) == 0
