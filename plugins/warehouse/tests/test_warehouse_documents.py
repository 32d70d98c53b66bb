"""Transfers and purchase orders at the service level, and the on_goods_received hook."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from erp_warehouse import checks, purchasing, transfers
from erp_warehouse.models import Lot, StockBalance
from erp_warehouse.schemas import PoIn, PoLineIn, ReceiptLineIn, UnitConversionIn
from erp_warehouse.stock import GoodsReceived, MoveLine, post_stock_move
from erp_warehouse.units import create_conversion
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.db import unit_of_work
from kernel.errors import Conflict, PermissionDenied, ValidationFailed
from kernel.plugins import hookimpl

D = Decimal


def qty_at(stock, product: str, location: str) -> Decimal:
    with stock.site.sessions() as s:
        total = sum(
            s.scalars(
                select(StockBalance.on_hand).where(
                    StockBalance.product_id == stock.products[product],
                    StockBalance.location_id == stock.locations[location],
                )
            ),
            D(0),
        )
    return total


def send(stock, s: Session, product: str, src: str, dst: str, q: int, destination: str | None = None):
    return transfers.send_transfer(
        s,
        hooks=stock.site.registry.pm.hook,
        product_id=stock.products[product],
        from_location_id=stock.locations[src],
        to_location_id=stock.locations[dst],
        quantity=D(q),
        destination=destination,
        user="spv.cutting",
    )


def test_transfer_send_accept_with_tolerance_and_who_did_what(stock) -> None:
    hooks = stock.site.registry.pm.hook
    stock.receive("WIP-CUT", "CUTTING", 100)
    with unit_of_work(stock.site.sessions) as s:
        t = send(stock, s, "WIP-CUT", "CUTTING", "SEWING", 100, destination="SE")
    assert (t.state, t.number, t.sent_by) == ("sent", f"TRF-{t.id:06d}", "spv.cutting")
    assert qty_at(stock, "WIP-CUT", "TRANSIT") == D(100)
    with unit_of_work(stock.site.sessions) as s, pytest.raises(ValidationFailed) as err:
        transfers.accept_transfer(s, hooks=hooks, transfer_id=t.id, received_qty=D(89))
    assert err.value.errors[0]["field"] == "received_qty"
    with unit_of_work(stock.site.sessions) as s, pytest.raises(PermissionDenied):
        transfers.accept_transfer(s, hooks=hooks, transfer_id=t.id, received_qty=D(95), department="cutting")
    with unit_of_work(stock.site.sessions) as s:
        done = transfers.accept_transfer(
            s, hooks=hooks, transfer_id=t.id, received_qty=D(95), user="spv.sewing", department="sewing"
        )
    assert (done.state, done.received_qty, done.accepted_by) == ("accepted", D(95), "spv.sewing")
    assert (
        qty_at(stock, "WIP-CUT", "SEWING"),
        qty_at(stock, "WIP-CUT", "SCRAP"),
        qty_at(stock, "WIP-CUT", "TRANSIT"),
    ) == (
        D(95),
        D(0),  # scrap is virtual: no balance
        D(0),
    )
    with unit_of_work(stock.site.sessions) as s, pytest.raises(Conflict, match="accepted"):
        transfers.cancel_transfer(s, hooks=hooks, transfer_id=t.id)
    with stock.site.sessions() as s:
        assert checks.run_all(s) == []


def test_transfer_line_clearance_blocks_another_article_or_destination(stock) -> None:
    hooks = stock.site.registry.pm.hook
    stock.receive("WIP-CUT", "CUTTING", 50)
    stock.receive("WIP-CUT2", "CUTTING", 50)
    with unit_of_work(stock.site.sessions) as s:
        first = send(stock, s, "WIP-CUT", "CUTTING", "SEWING", 10, destination="SE")
    for product, dest in (("WIP-CUT2", "SE"), ("WIP-CUT", "US")):
        with unit_of_work(stock.site.sessions) as s, pytest.raises(Conflict, match="line clearance") as err:
            send(stock, s, product, "CUTTING", "SEWING", 5, destination=dest)
        assert first.number in err.value.detail
    with unit_of_work(stock.site.sessions) as s:
        send(stock, s, "WIP-CUT", "CUTTING", "SEWING", 5, destination="SE")  # same article and destination
        transfers.cancel_transfer(s, hooks=hooks, transfer_id=first.id, user="spv.cutting")
    assert qty_at(stock, "WIP-CUT", "CUTTING") == D(45)


def test_transfer_refuses_more_than_the_sending_store_holds(stock, acceptor) -> None:
    stock.receive("WIP-CUT", "CUTTING", 5)
    with unit_of_work(stock.site.sessions) as s, pytest.raises(Conflict, match="not enough stock"):
        send(stock, s, "WIP-CUT", "CUTTING", "SEWING", 6)
    assert acceptor.accepted == []  # transfers hand over only what exists: no debt is offered


class ReceiptListener:
    """Records on_goods_received calls, and consumes in the receipt's own transaction (debt settlement)."""

    def __init__(self, stock) -> None:
        self.stock = stock
        self.seen: list[GoodsReceived] = []

    @hookimpl
    def on_goods_received(self, session: Session, receipt: GoodsReceived) -> None:
        self.seen.append(receipt)
        line = receipt.lines[0]
        settle = MoveLine(
            line.product_id, line.location_id, self.stock.locations["PRODUCTION"], D(10), line.lot_id
        )
        post_stock_move(session, hooks=self.stock.site.registry.pm.hook, lines=[settle], reference="DEBT-1")


def make_po(stock, s: Session, **extra) -> int:
    data = PoIn(
        po_type=extra.pop("po_type", "fabric"),
        supplier_id=stock.supplier_id,
        location_id=stock.locations["MAIN"],
        expected_date=date(2026, 12, 1),
        lines=[
            PoLineIn(
                product_id=stock.products["FAB-BROWN"],
                quantity=D(100),
                unit_id=stock.units["YD"],
                price=D(25000),
            )
        ],
        **extra,
    )
    return purchasing.create_po(s, data=data, user="purchasing").id


def test_on_goods_received_purchase_order_lifecycle_with_partial_receipts_by_lot(stock) -> None:
    hooks = stock.site.registry.pm.hook
    listener = ReceiptListener(stock)
    stock.site.registry.pm.register(listener, name="receipt_listener")
    with unit_of_work(stock.site.sessions) as s:
        create_conversion(
            s,
            data=UnitConversionIn(
                from_unit_id=stock.units["YD"], to_unit_id=stock.units["M"], factor=D("0.9144")
            ),
        )
        po_id = make_po(stock, s)
        line_id = purchasing.po_lines(s, po_id=po_id)[0].id
        assert purchasing.po_lines(s, po_id=po_id)[0].stock_qty == D("91.44")
    with unit_of_work(stock.site.sessions) as s, pytest.raises(Conflict, match="draft"):
        purchasing.receive_po(
            s, hooks=hooks, po_id=po_id, lines=[ReceiptLineIn(line_id=line_id, quantity=D(1))]
        )
    with unit_of_work(stock.site.sessions) as s:
        purchasing.send_po(s, po_id=po_id, user="purchasing.head")
        po, _, moved = purchasing.receive_po(
            s,
            hooks=hooks,
            po_id=po_id,
            lines=[ReceiptLineIn(line_id=line_id, quantity=D(60), lot_code="ROLL-1")],
        )
        assert po.state == "received"
        assert moved.lines[0].posted == D("54.864")
    [receipt] = listener.seen
    assert (receipt.purchase_order_id, receipt.lines[0].quantity) == (po_id, D("54.864"))
    assert qty_at(stock, "FAB-BROWN", "MAIN") == D(
        "44.864"
    )  # 54.864 received, 10 settled in the same transaction
    with unit_of_work(stock.site.sessions) as s, pytest.raises(Conflict, match="exceed"):
        purchasing.receive_po(
            s, hooks=hooks, po_id=po_id, lines=[ReceiptLineIn(line_id=line_id, quantity=D(41))]
        )
    with unit_of_work(stock.site.sessions) as s:
        po, _, _ = purchasing.receive_po(
            s,
            hooks=hooks,
            po_id=po_id,
            lines=[ReceiptLineIn(line_id=line_id, quantity=D(40), lot_code="ROLL-2")],
        )
        assert po.state == "done"
        lots = s.scalars(select(Lot).where(Lot.purchase_order_id == po_id).order_by(Lot.code)).all()
        assert [(x.code, x.received_qty) for x in lots] == [("ROLL-1", D("54.864")), ("ROLL-2", D("36.576"))]
    with unit_of_work(stock.site.sessions) as s:
        for action in (purchasing.cancel_po, purchasing.delete_po):
            with pytest.raises(Conflict):
                action(s, po_id=po_id)
        assert checks.run_all(s) == []


def test_label_po_needs_week_and_destination_and_cancel_then_delete(stock) -> None:
    with unit_of_work(stock.site.sessions) as s, pytest.raises(ValidationFailed) as err:
        make_po(stock, s, po_type="label")
    # no yard -> meter conversion exists yet either
    assert {e["field"] for e in err.value.errors} == {"week", "destination", "lines.0.unit_id"}
    with unit_of_work(stock.site.sessions) as s:
        yd_to_m = UnitConversionIn(
            from_unit_id=stock.units["YD"], to_unit_id=stock.units["M"], factor=D("0.9144")
        )
        create_conversion(s, data=yd_to_m)
        po_id = make_po(stock, s, po_type="label", week="W05-2026", destination="SE")
        purchasing.send_po(s, po_id=po_id)
        with pytest.raises(Conflict, match="cannot send"):
            purchasing.send_po(s, po_id=po_id)
        purchasing.cancel_po(s, po_id=po_id)
        with pytest.raises(Conflict, match="cannot close"):
            purchasing.close_po(s, po_id=po_id)
        purchasing.delete_po(s, po_id=po_id)
        assert purchasing.list_pos(s)[1] == 0
