"""post_stock_move, reservations and on_stock_negative at the service level (PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from erp_warehouse import checks
from erp_warehouse.models import StockBalance, StockLedger, StockMove, StockShortfall
from erp_warehouse.stock import MoveLine, consume_reserved, release, reserve
from sqlalchemy import func, select

from kernel.db import unit_of_work
from kernel.errors import Conflict, ValidationFailed

D = Decimal


def on_hand(stock, product: str, location: str, lot_id: int | None = None) -> Decimal:
    with stock.site.sessions() as s:
        value = s.scalar(
            select(StockBalance.on_hand).where(
                StockBalance.product_id == stock.products[product],
                StockBalance.location_id == stock.locations[location],
                StockBalance.lot_key == (lot_id or 0),
            )
        )
    return value if value is not None else D(0)


def violations(stock) -> list[str]:
    with stock.site.sessions() as s:
        return checks.run_all(s)


def test_receipt_and_multi_line_move_keep_balance_equal_to_ledger(stock) -> None:
    stock.receive("FAB-BROWN", "MAIN", D("120.5"))
    stock.receive("FILL", "MAIN", 5000)
    moved = stock.post(
        [
            MoveLine(
                stock.products["FAB-BROWN"], stock.locations["MAIN"], stock.locations["CUTTING"], D("20.25")
            ),
            MoveLine(stock.products["FILL"], stock.locations["MAIN"], stock.locations["SEWING"], D(540)),
            MoveLine(
                stock.products["FAB-BROWN"], stock.locations["MAIN"], stock.locations["SEWING"], D("0.25")
            ),
        ],
        reference="SPK-1",
    )
    assert [line.posted for line in moved.lines] == [D("20.25"), D(540), D("0.25")]
    assert on_hand(stock, "FAB-BROWN", "MAIN") == D("100.0000")
    assert on_hand(stock, "FAB-BROWN", "CUTTING") == D("20.25")
    assert on_hand(stock, "FILL", "SEWING") == D(540)
    with stock.site.sessions() as s:
        rows = s.scalars(select(StockLedger).where(StockLedger.move_id == moved.move_id)).all()
    assert [(r.line_no, r.quantity, r.reference) for r in rows] == [
        (1, D("20.25"), "SPK-1"),
        (2, D(540), "SPK-1"),
        (3, D("0.25"), "SPK-1"),
    ]
    assert violations(stock) == []


def test_on_stock_negative_refusal_writes_nothing(stock) -> None:
    stock.receive("EYES", "MAIN", 10)
    with stock.site.sessions() as s:
        moves_before = s.scalar(select(func.count()).select_from(StockMove))
    with pytest.raises(Conflict) as err:
        stock.post(
            [
                MoveLine(stock.products["EYES"], stock.locations["MAIN"], stock.locations["SEWING"], D(4)),
                MoveLine(
                    stock.products["EYES"], stock.locations["MAIN"], stock.locations["PRODUCTION"], D(7)
                ),
            ],
            reference="SPK-2",
        )
    assert "short 1" in err.value.detail and "nothing was posted" in err.value.detail
    assert on_hand(stock, "EYES", "MAIN") == D(10)
    assert on_hand(stock, "EYES", "SEWING") == D(0)
    with stock.site.sessions() as s:
        assert s.scalar(select(func.count()).select_from(StockMove)) == moves_before
    assert violations(stock) == []


def test_on_stock_negative_caller_catching_conflict_keeps_earlier_work(stock) -> None:
    """A service caller that catches the refusal keeps its own earlier writes but none of the move's."""
    stock.receive("EYES", "MAIN", 3)
    with unit_of_work(stock.site.sessions) as s:
        stock.post(
            [MoveLine(stock.products["EYES"], stock.locations["MAIN"], stock.locations["SEWING"], D(1))],
            session=s,
        )
        with pytest.raises(Conflict):
            stock.post(
                [
                    MoveLine(
                        stock.products["EYES"], stock.locations["MAIN"], stock.locations["PRODUCTION"], D(5)
                    )
                ],
                session=s,
            )
    assert on_hand(stock, "EYES", "MAIN") == D(2)
    assert on_hand(stock, "EYES", "SEWING") == D(1)
    assert violations(stock) == []


def test_on_stock_negative_accepted_posts_what_exists_and_records_the_shortfall(stock, acceptor) -> None:
    stock.receive("FILL", "SEWING", D("100.5"))
    moved = stock.post(
        [MoveLine(stock.products["FILL"], stock.locations["SEWING"], stock.locations["PRODUCTION"], D(160))],
        reference="SPK-7",
    )
    line = moved.lines[0]
    assert (line.posted, line.shortfall, line.accepted_by) == (D("100.5"), D("59.5"), "debt_acceptor")
    [seen] = acceptor.accepted
    assert (seen.reference, seen.requested, seen.available, seen.quantity) == (
        "SPK-7",
        D(160),
        D("100.5"),
        D("59.5"),
    )
    assert on_hand(stock, "FILL", "SEWING") == D(0)
    with stock.site.sessions() as s:
        shortfall = s.scalars(select(StockShortfall)).one()
    assert (shortfall.quantity, shortfall.accepted_by, shortfall.move_id) == (
        D("59.5"),
        "debt_acceptor",
        moved.move_id,
    )
    assert violations(stock) == []


def test_short_source_sorting_after_its_destination_corrects_the_destination(stock, acceptor) -> None:
    """The destination balance (lower key) was credited first; the shortfall is taken back from it."""
    p = stock.products["EYES"]
    stock.receive("EYES", "SEWING", 5)  # SEWING's id is greater than CUTTING's: processed after it
    assert stock.locations["CUTTING"] < stock.locations["SEWING"]
    moved = stock.post([MoveLine(p, stock.locations["SEWING"], stock.locations["CUTTING"], D(8))])
    assert moved.lines[0].posted == D(5)
    assert on_hand(stock, "EYES", "CUTTING") == D(5)
    assert on_hand(stock, "EYES", "SEWING") == D(0)
    assert violations(stock) == []


def test_reserve_release_consume_never_exceed_available(stock) -> None:
    stock.receive("FAB-BROWN", "CUTTING", 50)
    hooks = stock.site.registry.pm.hook
    with unit_of_work(stock.site.sessions) as s:
        r1 = reserve(
            s,
            product_id=stock.products["FAB-BROWN"],
            location_id=stock.locations["CUTTING"],
            quantity=D(30),
            reference="SPK-1",
        )
        with pytest.raises(Conflict, match="only 20"):
            reserve(
                s,
                product_id=stock.products["FAB-BROWN"],
                location_id=stock.locations["CUTTING"],
                quantity=D(21),
                reference="SPK-2",
            )
    # free stock is 20: a plain consuming move of 25 is refused, reserved stock is not touched
    with pytest.raises(Conflict):
        stock.post(
            [
                MoveLine(
                    stock.products["FAB-BROWN"],
                    stock.locations["CUTTING"],
                    stock.locations["PRODUCTION"],
                    D(25),
                )
            ]
        )
    with unit_of_work(stock.site.sessions) as s:
        consumed = consume_reserved(
            s, hooks=hooks, reservation_id=r1.id, quantity=D(12), to_location_id=stock.locations["PRODUCTION"]
        )
        assert consumed.lines[0].posted == D(12)
        with pytest.raises(Conflict, match="holds only 18"):
            consume_reserved(
                s,
                hooks=hooks,
                reservation_id=r1.id,
                quantity=D(19),
                to_location_id=stock.locations["PRODUCTION"],
            )
        left = release(s, reservation_id=r1.id, quantity=D(8))
        assert (left.quantity, left.consumed_qty, left.released_qty) == (D(10), D(12), D(8))
    with stock.site.sessions() as s:
        bal = s.scalars(
            select(StockBalance).where(StockBalance.location_id == stock.locations["CUTTING"])
        ).one()
    assert (bal.on_hand, bal.reserved) == (D(38), D(10))
    assert violations(stock) == []


def test_bad_lines_are_refused_with_field_errors(stock) -> None:
    p = stock.products["EYES"]
    with pytest.raises(ValidationFailed) as err:
        stock.post(
            [
                MoveLine(p, stock.locations["MAIN"], stock.locations["MAIN"], D(1)),
                MoveLine(p, stock.locations["MAIN"], stock.locations["SEWING"], D("0.00001")),
                MoveLine(p, stock.locations["SUPPLIER"], stock.locations["PRODUCTION"], D(1)),
                MoveLine(99999, stock.locations["WH"], stock.locations["SEWING"], D(1)),
            ]
        )
    fields = {e["field"] for e in err.value.errors}
    assert {"lines.0.to_location_id", "lines.1.quantity"} <= fields
    with pytest.raises(ValidationFailed) as err2:
        stock.post(
            [
                MoveLine(p, stock.locations["SUPPLIER"], stock.locations["PRODUCTION"], D(1)),
                MoveLine(99999, stock.locations["WH"], stock.locations["SEWING"], D(1)),
            ]
        )
    fields2 = {e["field"] for e in err2.value.errors}
    assert {"lines.0", "lines.1.product_id", "lines.1.from_location_id"} <= fields2
