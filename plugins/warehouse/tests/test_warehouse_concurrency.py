"""Stock stays exact under concurrency: threads, each with its own session and transaction, on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from erp_warehouse import checks
from erp_warehouse.models import StockBalance, StockShortfall
from erp_warehouse.stock import MoveLine
from sqlalchemy import func, select, text

from kernel.errors import Conflict
from kernel.site import Site

D = Decimal
WORKERS = 50


@pytest.fixture
def wh_site(make_site: Callable[..., Site]) -> Site:
    """A site whose pool lets all 50 threads hold a connection at once."""
    return make_site(["warehouse"], db_pool_size=WORKERS + 5, db_max_overflow=5)


def run_concurrently(count: int, fn: Callable[[int], object]) -> list[object]:
    """Call ``fn(i)`` from ``count`` threads released together; returns results or raised exceptions."""
    barrier = threading.Barrier(count)

    def call(i: int) -> object:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


def balance(stock, product: str, location: str) -> Decimal:
    with stock.site.sessions() as s:
        return s.scalar(
            select(StockBalance.on_hand).where(
                StockBalance.product_id == stock.products[product],
                StockBalance.location_id == stock.locations[location],
            )
        )


def consume_one(stock) -> Callable[[int], object]:
    line = MoveLine(stock.products["FILL"], stock.locations["SEWING"], stock.locations["PRODUCTION"], D(1))
    return lambda i: stock.post([line], reference=f"SPK-{i}")


def test_on_stock_negative_50_concurrent_moves_of_1_on_30_with_debt_accepted(stock, acceptor) -> None:
    stock.receive("FILL", "SEWING", 30)
    results = run_concurrently(WORKERS, consume_one(stock))
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    posted = sorted(r.lines[0].posted for r in results)  # type: ignore[attr-defined]
    assert posted == [D(0)] * 20 + [D(1)] * 30
    assert balance(stock, "FILL", "SEWING") == D(0)
    assert len(acceptor.accepted) == 20
    assert sum(s.quantity for s in acceptor.accepted) == D(20)
    with stock.site.sessions() as s:
        recorded = s.execute(select(func.count(), func.sum(StockShortfall.quantity))).one()
        assert tuple(recorded) == (20, D(20))
        assert checks.run_all(s) == []


def test_on_stock_negative_50_concurrent_moves_of_1_on_30_without_acceptor(stock) -> None:
    stock.receive("FILL", "SEWING", 30)
    results = run_concurrently(WORKERS, consume_one(stock))
    refused = [r for r in results if isinstance(r, Conflict)]
    succeeded = [r for r in results if not isinstance(r, Exception)]
    assert (len(succeeded), len(refused)) == (30, 20)
    assert balance(stock, "FILL", "SEWING") == D(0)
    with stock.site.sessions() as s:
        assert s.scalar(select(func.count()).select_from(StockShortfall)) == 0
        assert checks.run_all(s) == []


def _deadlocks(stock) -> int:
    with stock.site.engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        return conn.scalar(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))


def test_opposite_moves_a_to_b_and_b_to_a_never_deadlock(stock) -> None:
    """Multi-line moves in opposite directions, many times over, from 8 threads: no error ever."""
    a, b = stock.locations["CUTTING"], stock.locations["SEWING"]
    names = ["FAB-BROWN", "FILL", "EYES"]
    for name in names:
        stock.receive(name, "CUTTING", 1000)
        stock.receive(name, "SEWING", 1000)
    before = _deadlocks(stock)
    rounds = 60

    def worker(i: int) -> object:
        src, dst = (a, b) if i % 2 == 0 else (b, a)
        # Lines in different orders per thread: the service's own ordering must prevent cycles.
        order = names if i % 4 < 2 else list(reversed(names))
        for _ in range(rounds):
            stock.post([MoveLine(stock.products[n], src, dst, D(1)) for n in order], reference=f"T{i}")
        return None

    results = run_concurrently(8, worker)
    assert [r for r in results if r is not None] == []
    for name in names:
        assert balance(stock, name, "CUTTING") == D(1000)
        assert balance(stock, name, "SEWING") == D(1000)
    time.sleep(1.2)  # backends flush their statistics at most once a second
    assert _deadlocks(stock) == before
    with stock.site.sessions() as s:
        assert checks.run_all(s) == []


def test_concurrent_reservations_never_exceed_available(stock) -> None:
    from erp_warehouse.stock import reserve

    from kernel.db import unit_of_work

    stock.receive("EYES", "MAIN", 25)

    def reserve_two(i: int) -> object:
        with unit_of_work(stock.site.sessions) as s:
            return reserve(
                s,
                product_id=stock.products["EYES"],
                location_id=stock.locations["MAIN"],
                quantity=D(2),
                reference=f"SPK-{i}",
            )

    results = run_concurrently(20, reserve_two)
    assert sum(1 for r in results if not isinstance(r, Exception)) == 12
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
    with stock.site.sessions() as s:
        bal = s.scalars(select(StockBalance).where(StockBalance.location_id == stock.locations["MAIN"])).one()
        assert (bal.on_hand, bal.reserved) == (D(25), D(24))
        assert checks.run_all(s) == []
