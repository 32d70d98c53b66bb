"""The after-commit events stock_moved and po_received: emitted with the posting, delivered after
commit to a subscribing plugin, never for a rolled-back posting."""

from __future__ import annotations

import types
from decimal import Decimal
from typing import Any

import pytest
from erp_warehouse import purchasing
from erp_warehouse.schemas import PoIn, PoLineIn, ReceiptLineIn
from erp_warehouse.stock import MoveLine
from sqlalchemy import func, select

from kernel.db import unit_of_work
from kernel.errors import Conflict
from kernel.events.models import OutboxEvent
from kernel.plugins import LoadedPlugin, PluginManifest, hookimpl
from kernel.site import Site
from kernel.testing import drain_events

D = Decimal


def add_subscriber(site: Site) -> list[tuple[str, Any]]:
    """Enable a plugin on ``site`` that records every stock_moved and po_received it is given."""
    received: list[tuple[str, Any]] = []
    module = types.ModuleType("erp_wh_listener.plugin")
    module.manifest = PluginManifest(name="wh_listener", version="0.0.1", kernel_api=(1,))  # type: ignore[attr-defined]

    def on_stock_moved(session, event):
        received.append(("stock_moved", event))

    def on_po_received(session, event):
        received.append(("po_received", event))

    def on_transfer_blocked(session, event):
        received.append(("transfer_blocked", event))

    module.on_stock_moved = hookimpl(on_stock_moved)  # type: ignore[attr-defined]
    module.on_po_received = hookimpl(on_po_received)  # type: ignore[attr-defined]
    module.on_transfer_blocked = hookimpl(on_transfer_blocked)  # type: ignore[attr-defined]
    site.registry.pm.register(module, name="wh_listener")
    site.registry.plugins.append(LoadedPlugin(module.manifest, module))
    return received


@pytest.fixture
def listener(wh_site: Site) -> list[tuple[str, Any]]:
    return add_subscriber(wh_site)


def outbox_count(site: Site, name: str) -> int:
    with site.sessions() as s:
        return s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.name == name)) or 0


def test_on_stock_moved_is_delivered_after_commit_with_the_posted_lines(listener, stock) -> None:
    stock.receive("FILL", "MAIN", 500)
    p, loc = stock.products, stock.locations
    stock.post(
        [
            MoveLine(p["FILL"], loc["MAIN"], loc["CUTTING"], D("120.5")),
            MoveLine(p["FILL"], loc["MAIN"], loc["SEWING"], D(30)),
        ],
        reference="ISSUE-1",
    )
    drain_events(stock.site)
    moved = [e for name, e in listener if name == "stock_moved"]
    assert len(moved) == 2
    issue = next(e for e in moved if e.payload.reference == "ISSUE-1")
    assert issue.aggregate == f"product:{p['FILL']}"
    assert [(x.to_location_id, x.posted, x.shortfall) for x in issue.payload.lines] == [
        (loc["CUTTING"], D("120.5"), D(0)),
        (loc["SEWING"], D(30), D(0)),
    ]


def test_on_stock_moved_is_not_emitted_for_a_refused_or_rolled_back_posting(listener, stock) -> None:
    p, loc = stock.products, stock.locations
    with pytest.raises(Conflict):
        stock.post([MoveLine(p["EYES"], loc["MAIN"], loc["CUTTING"], D(5))], reference="SHORT")
    with pytest.raises(RuntimeError), unit_of_work(stock.site.sessions) as s:
        stock.post([MoveLine(p["EYES"], loc["SUPPLIER"], loc["MAIN"], D(5))], session=s)
        raise RuntimeError("the caller's transaction fails after the posting")
    assert outbox_count(stock.site, "stock_moved") == 0
    drain_events(stock.site)
    assert listener == []


def test_on_po_received_carries_the_po_and_the_received_lines(listener, stock) -> None:
    hooks = stock.site.registry.pm.hook
    with unit_of_work(stock.site.sessions) as s:
        po = purchasing.create_po(
            s,
            data=PoIn(
                po_type="label",
                supplier_id=stock.supplier_id,
                location_id=stock.locations["MAIN"],
                week="W05-2026",
                destination="SE",
                lines=[PoLineIn(product_id=stock.products["EYES"], quantity=D(100), price=D(150))],
            ),
        )
        purchasing.send_po(s, po_id=po.id)
        line_id = purchasing.po_lines(s, po_id=po.id)[0].id
        po_id = po.id
    with unit_of_work(stock.site.sessions) as s:
        purchasing.receive_po(
            s, hooks=hooks, po_id=po_id, lines=[ReceiptLineIn(line_id=line_id, quantity=D(40), lot_code="L1")]
        )
    drain_events(stock.site)
    received = [e for name, e in listener if name == "po_received"]
    assert len(received) == 1
    event = received[0]
    assert event.aggregate == f"po:{po_id}"
    payload = event.payload
    assert (payload.po_id, payload.po_type, payload.week, payload.destination, payload.state) == (
        po_id,
        "label",
        "W05-2026",
        "SE",
        "received",
    )
    assert [(x.product_id, x.location_id, x.quantity) for x in payload.lines] == [
        (stock.products["EYES"], stock.locations["MAIN"], D(40))
    ]
    assert payload.lines[0].lot_id is not None
    assert [e.payload.reference for name, e in listener if name == "stock_moved"] == [payload.number]


def test_on_transfer_blocked_is_delivered_although_the_send_is_refused(listener, stock) -> None:
    from erp_warehouse import transfers

    hooks = stock.site.registry.pm.hook
    p, loc = stock.products, stock.locations
    stock.receive("WIP-CUT", "CUTTING", 50)
    stock.receive("WIP-CUT2", "CUTTING", 50)
    with unit_of_work(stock.site.sessions) as s:
        first = transfers.send_transfer(
            s,
            hooks=hooks,
            product_id=p["WIP-CUT"],
            from_location_id=loc["CUTTING"],
            to_location_id=loc["SEWING"],
            quantity=D(10),
            destination="SE",
        )
    with pytest.raises(Conflict, match="line clearance"), unit_of_work(stock.site.sessions) as s:
        transfers.send_transfer(
            s,
            hooks=hooks,
            product_id=p["WIP-CUT2"],
            from_location_id=loc["CUTTING"],
            to_location_id=loc["SEWING"],
            quantity=D(5),
            destination="SE",
            reference="SPK-X",
            user="spv.cutting",
        )
    assert outbox_count(stock.site, "transfer_blocked") == 1
    with stock.site.sessions() as s:  # the refused send itself left nothing behind
        from erp_warehouse.models import Transfer

        assert s.scalar(select(func.count()).select_from(Transfer)) == 1
    drain_events(stock.site)
    blocked = [e for name, e in listener if name == "transfer_blocked"]
    assert len(blocked) == 1 and blocked[0].aggregate == f"location:{loc['SEWING']}"
    assert blocked[0].payload.model_dump() == {
        "product_id": p["WIP-CUT2"],
        "from_location_id": loc["CUTTING"],
        "to_location_id": loc["SEWING"],
        "to_location_code": "SEWING",
        "department": "sewing",
        "destination": "SE",
        "reference": "SPK-X",
        "quantity": D(5),
        "user": "spv.cutting",
        "blocking_transfer_id": first.id,
        "blocking_number": first.number,
        "blocking_product_id": p["WIP-CUT"],
        "blocking_destination": "SE",
    }
