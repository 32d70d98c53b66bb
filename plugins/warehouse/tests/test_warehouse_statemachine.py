"""A Hypothesis state machine of receive / move / reserve / release / consume / transfer / cancel.

After every step the database must agree with a plain Python model of the stock, and the ``erp check``
invariants (balance = sum of ledger, 0 <= reserved <= on hand, reservations add up) must hold.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from erp_warehouse import checks, transfers
from erp_warehouse.models import StockBalance
from erp_warehouse.stock import MoveLine, consume_reserved, post_stock_move, release, reserve
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select, text

from kernel.db import unit_of_work
from kernel.errors import Conflict

D = Decimal
STOCK_TABLES = (
    "warehouse_stock_ledger, warehouse_stock_shortfall, warehouse_stock_reservation, warehouse_transfer, "
    "warehouse_stock_move, warehouse_stock_balance"
)


def test_stock_state_machine_keeps_every_invariant(stock) -> None:
    site = stock.site
    hooks = site.registry.pm.hook
    products = [stock.products["FILL"], stock.products["EYES"]]
    stores = [stock.locations["CUTTING"], stock.locations["EMBROIDERY"], stock.locations["SEWING"]]
    internal = [stock.locations["MAIN"], *stores]
    transit = stock.locations["TRANSIT"]
    qty = st.integers(min_value=1, max_value=30).map(D)

    class StockMachine(RuleBasedStateMachine):
        reservations = Bundle("reservations")
        sent = Bundle("transfers")

        def __init__(self) -> None:
            super().__init__()
            with site.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {STOCK_TABLES} RESTART IDENTITY CASCADE"))
            self.on_hand: dict[tuple[int, int], Decimal] = defaultdict(D)
            self.reserved: dict[tuple[int, int], Decimal] = defaultdict(D)
            self.held: dict[int, Decimal] = {}
            self.res_key: dict[int, tuple[int, int]] = {}
            self.transfer: dict[int, tuple[int, int, int, Decimal, str]] = {}

        def free(self, key: tuple[int, int]) -> Decimal:
            return self.on_hand[key] - self.reserved[key]

        def post(self, lines: list[MoveLine]) -> bool:
            try:
                with unit_of_work(site.sessions) as s:
                    post_stock_move(s, hooks=hooks, lines=lines, reference="SM")
                return True
            except Conflict:
                return False

        @rule(p=st.sampled_from(products), loc=st.sampled_from(internal), q=qty)
        def receive(self, p: int, loc: int, q: Decimal) -> None:
            assert self.post([MoveLine(p, stock.locations["SUPPLIER"], loc, q)])
            self.on_hand[(p, loc)] += q

        @rule(
            p=st.sampled_from(products), src=st.sampled_from(internal), dst=st.sampled_from(internal), q=qty
        )
        def move(self, p: int, src: int, dst: int, q: Decimal) -> None:
            if src == dst:
                return
            expected = self.free((p, src)) >= q
            assert self.post([MoveLine(p, src, dst, q)]) == expected
            if expected:
                self.on_hand[(p, src)] -= q
                self.on_hand[(p, dst)] += q

        @rule(p=st.sampled_from(products), src=st.sampled_from(internal), q=qty)
        def consume(self, p: int, src: int, q: Decimal) -> None:
            expected = self.free((p, src)) >= q
            assert self.post([MoveLine(p, src, stock.locations["PRODUCTION"], q)]) == expected
            if expected:
                self.on_hand[(p, src)] -= q

        @rule(target=reservations, p=st.sampled_from(products), loc=st.sampled_from(internal), q=qty)
        def make_reservation(self, p: int, loc: int, q: Decimal) -> int:
            expected = self.free((p, loc)) >= q
            try:
                with unit_of_work(site.sessions) as s:
                    rid = reserve(s, product_id=p, location_id=loc, quantity=q, reference="SM").id
            except Conflict:
                assert not expected
                return -1
            assert expected
            self.reserved[(p, loc)] += q
            self.held[rid], self.res_key[rid] = q, (p, loc)
            return rid

        @rule(rid=reservations, q=qty)
        def release_some(self, rid: int, q: Decimal) -> None:
            if rid < 0:
                return
            expected = self.held[rid] >= q
            try:
                with unit_of_work(site.sessions) as s:
                    release(s, reservation_id=rid, quantity=q)
            except Conflict:
                assert not expected
                return
            assert expected
            self.held[rid] -= q
            self.reserved[self.res_key[rid]] -= q

        @rule(rid=reservations, q=qty)
        def consume_from_reservation(self, rid: int, q: Decimal) -> None:
            if rid < 0:
                return
            expected = self.held[rid] >= q
            try:
                with unit_of_work(site.sessions) as s:
                    consume_reserved(
                        s,
                        hooks=hooks,
                        reservation_id=rid,
                        quantity=q,
                        to_location_id=stock.locations["PRODUCTION"],
                    )
            except Conflict:
                assert not expected
                return
            assert expected
            self.held[rid] -= q
            self.reserved[self.res_key[rid]] -= q
            self.on_hand[self.res_key[rid]] -= q

        @rule(
            target=sent,
            p=st.sampled_from(products),
            src=st.sampled_from(stores),
            dst=st.sampled_from(stores),
            q=qty,
        )
        def send(self, p: int, src: int, dst: int, q: Decimal) -> int:
            if src == dst:
                return -1
            blocked = any(t[2] == dst and t[0] != p and t[4] == "sent" for t in self.transfer.values())
            expected = not blocked and self.free((p, src)) >= q
            try:
                with unit_of_work(site.sessions) as s:
                    tid = transfers.send_transfer(
                        s, hooks=hooks, product_id=p, from_location_id=src, to_location_id=dst, quantity=q
                    ).id
            except Conflict:
                assert not expected
                return -1
            assert expected
            self.transfer[tid] = (p, src, dst, q, "sent")
            self.on_hand[(p, src)] -= q
            self.on_hand[(p, transit)] += q
            return tid

        @rule(tid=sent, short=st.integers(min_value=0, max_value=3))
        def accept(self, tid: int, short: int) -> None:
            if tid < 0:
                return
            p, src, dst, q, state = self.transfer[tid]
            received = q - min(D(short), (q / 10).to_integral_value(rounding="ROUND_FLOOR"))
            try:
                with unit_of_work(site.sessions) as s:
                    transfers.accept_transfer(s, hooks=hooks, transfer_id=tid, received_qty=received)
            except Conflict:
                assert state != "sent"
                return
            assert state == "sent"
            self.transfer[tid] = (p, src, dst, q, "accepted")
            self.on_hand[(p, transit)] -= q
            self.on_hand[(p, dst)] += received

        @rule(tid=sent)
        def cancel(self, tid: int) -> None:
            if tid < 0:
                return
            p, src, dst, q, state = self.transfer[tid]
            try:
                with unit_of_work(site.sessions) as s:
                    transfers.cancel_transfer(s, hooks=hooks, transfer_id=tid)
            except Conflict:
                assert state != "sent"
                return
            assert state == "sent"
            self.transfer[tid] = (p, src, dst, q, "cancelled")
            self.on_hand[(p, transit)] -= q
            self.on_hand[(p, src)] += q

        @invariant()
        def database_matches_model_and_checks_pass(self) -> None:
            with site.sessions() as s:
                rows = s.execute(
                    select(
                        StockBalance.product_id,
                        StockBalance.location_id,
                        StockBalance.on_hand,
                        StockBalance.reserved,
                    )
                ).tuples()
                actual = {(p, loc): (oh, rs) for p, loc, oh, rs in rows if oh or rs}
                assert checks.run_all(s) == []
            expected = {
                k: (self.on_hand[k], self.reserved[k])
                for k in set(self.on_hand) | set(self.reserved)
                if self.on_hand[k]
            }
            assert actual == expected

    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
