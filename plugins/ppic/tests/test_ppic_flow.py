"""From a buyer's order to an MO released by PO receipts, then SPK inputs: the API's progress, line
figures and weekly report equal what the test computes itself from production's rows."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from erp_ppic.models import MoRelease
from erp_production import spk as spk_service
from erp_production.daily import site_today
from erp_production.models import DailyInput, ManufacturingOrder, Spk
from erp_warehouse.events import PoReceived
from ppic_testkit import API, Ppic
from sqlalchemy import func, select

from kernel.audit.models import AuditLog
from kernel.db import unit_of_work
from kernel.events import emit
from kernel.events.models import EventDelivery, OutboxEvent
from kernel.testing import create_test_user, drain_events

D = Decimal
WEEK, DEST = "W05-2026", "SE"


def _audits(ppic: Ppic, action: str) -> int:
    with ppic.site.sessions() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.entity_type == "ppic.mo", AuditLog.action == action)
            )
            or 0
        )


def _create_so(ppic: Ppic, key: str = "so-1", **over: Any) -> Any:
    body = {
        "buyer_po_number": "NORD-4500000001",
        "customer_id": ppic.customer_id,
        "order_date": "2026-01-05",
        "delivery_week": WEEK,
        "destination": DEST,
        "lines": [{"product_id": ppic.products["TEDDY"], "quantity": "120"}],
        **over,
    }
    headers = {**ppic.as_("PPIC Manager"), "Idempotency-Key": key}
    return ppic.client.post(f"{API}/so", json=body, headers=headers)


def test_sales_order_idempotent_create_unique_buyer_po_and_bad_input(ppic: Ppic) -> None:
    first = _create_so(ppic)
    assert first.status_code == 201, first.text
    again = _create_so(ppic)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    dup = _create_so(ppic, key="so-2")
    assert dup.status_code == 409 and "NORD-4500000001" in dup.json()["detail"]
    bad = _create_so(
        ppic,
        key="so-3",
        buyer_po_number="X-1",
        customer_id=ppic.supplier_id,
        lines=[{"product_id": ppic.products["FAB"], "quantity": "5"}],
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"customer_id", "lines.0.product_id"}
    assert _create_so(ppic, key="so-4", delivery_week="2026-05").status_code == 422
    listed = ppic.client.get(f"{API}/so?limit=1", headers=ppic.as_("PPIC Admin")).json()
    assert listed["total"] == 1 and listed["items"][0]["state"] == "draft"
    # Roles without the grant are refused.
    assert ppic.client.get(f"{API}/so", headers=ppic.as_("Warehouse Operator")).status_code == 403
    extra = _create_so(ppic, key="so-5", buyer_po_number="B-2", discount="5")
    assert extra.status_code == 422  # unknown fields are refused, not dropped


def test_from_sales_order_to_released_mo_by_po_receipts_then_progress_and_weekly_report(ppic: Ppic) -> None:
    p, mgr = ppic, ppic.as_("PPIC Manager")
    so = _create_so(p).json()
    line_id = so["lines"][0]["id"]
    with p.session() as s:
        today = site_today(s)
    fabric = p.sent_po("fabric", "FAB", "70", "CUTTING")
    label = p.sent_po("label", "LBL", "110", "PACKING", week=WEEK, destination=DEST)
    other_label = p.sent_po("label", "LBL", "10", "PACKING", week="W09-2026", destination=DEST)
    plan = {
        "so_line_id": line_id,
        "quantity": "100",
        "routing": "route1",
        "batch_number": "B-001",
        "planned_start": (today - timedelta(days=5)).isoformat(),
        "planned_end": (today - timedelta(days=1)).isoformat(),
        "purchase_orders": [{"po_id": fabric, "role": "fabric"}, {"po_id": label, "role": "label"}],
    }
    # A draft order is not planned yet.
    refused = p.client.post(f"{API}/mo/create", json=plan, headers=mgr)
    assert refused.status_code == 409 and "confirmed" in refused.json()["detail"]
    assert p.client.post(f"{API}/so/{so['id']}/confirm", headers=mgr).json()["state"] == "confirmed"
    wrong = {
        **plan,
        "purchase_orders": [{"po_id": other_label, "role": "label"}, {"po_id": label, "role": "fabric"}],
    }
    errors = p.client.post(f"{API}/mo/create", json=wrong, headers=mgr).json()["errors"]
    assert [e["field"] for e in errors] == ["purchase_orders.0.po_id", "purchase_orders.1.po_id"]

    created = p.client.post(f"{API}/mo/create", json=plan, headers={**mgr, "Idempotency-Key": "mo-1"})
    assert created.status_code == 201, created.text
    mo = created.json()
    assert (mo["state"], mo["week"], mo["destination"], mo["so_line_id"]) == ("draft", WEEK, DEST, line_id)
    assert [x["role"] for x in mo["purchase_orders"]] == ["fabric", "label"]
    replay = p.client.post(f"{API}/mo/create", json=plan, headers={**mgr, "Idempotency-Key": "mo-1"})
    assert replay.json()["id"] == mo["id"]
    # 20 left to plan on the line: 30 is refused unless explicitly allowed.
    more = {"so_line_id": line_id, "quantity": "30", "routing": "route2", "batch_number": "B-002"}
    over = p.client.post(f"{API}/mo/create", json=more, headers=mgr)
    assert over.status_code == 409 and "20" in over.json()["detail"]
    second = p.client.post(f"{API}/mo/create", json={**more, "quantity": "20"}, headers=mgr)
    assert second.status_code == 201
    order = p.client.get(f"{API}/so/{so['id']}", headers=mgr).json()
    assert order["state"] == "in_production"
    assert order["lines"][0] | {"mo_ids": None} == {
        **order["lines"][0],
        "planned": "120.0000",
        "produced": "0",
        "remaining_to_plan": "0.0000",
        "mo_ids": None,
    }

    # Nothing arrived: a manual release without a level is refused; nothing was released.
    nothing = p.client.put(f"{API}/mo/{mo['id']}/release", json={}, headers=mgr)
    assert nothing.status_code == 409

    # Fabric arrives: partial release (Cutting, Embroidery), audited once.
    p.receive(fabric)
    drain_events(p.site)
    after_fabric = p.client.get(f"{API}/mo/{mo['id']}", headers=mgr).json()
    assert (after_fabric["state"], after_fabric["release_level"]) == ("released", "partial")
    assert not after_fabric["schedule_locked"]
    assert _audits(p, "auto_release") == 1

    # The same receipt delivered again (a producer retry): no second release, no second audit row.
    with p.site.sessions() as s:
        payload = s.scalar(select(OutboxEvent.payload).where(OutboxEvent.name == "po_received"))
    with unit_of_work(p.site.sessions) as s:
        emit(s, "po_received", PoReceived.model_validate(payload), aggregate=f"po:{fabric}")
    drain_events(p.site)
    with p.site.sessions() as s:
        statuses = s.scalars(
            select(EventDelivery.status)
            .join(OutboxEvent, OutboxEvent.id == EventDelivery.event_id)
            .where(EventDelivery.plugin == "ppic", OutboxEvent.name == "po_received")
        ).all()
        assert statuses == ["delivered", "delivered"]
        assert s.scalar(select(func.count()).select_from(MoRelease)) == 1
    assert _audits(p, "auto_release") == 1

    # Label arrives: full release, which locks week and destination.
    p.receive(label)
    drain_events(p.site)
    full = p.client.get(f"{API}/mo/{mo['id']}", headers=mgr).json()
    assert (full["release_level"], full["schedule_locked"]) == ("full", True)
    assert all(x["received"] for x in full["purchase_orders"])
    assert _audits(p, "auto_release") == 2
    again = p.client.put(f"{API}/mo/{mo['id']}/release", json={}, headers=mgr)
    assert again.status_code == 409
    late_link = p.client.post(
        f"{API}/mo/{mo['id']}/purchase-orders", json={"po_id": other_label, "role": "label"}, headers=mgr
    )
    assert late_link.status_code == 409

    # SPK inputs: Cutting 105 good / 5 defect over two days, then Embroidery with too little thread
    # (the shortfall becomes material debt).
    with p.site.sessions() as s:
        spks = {x.department: x for x in s.scalars(select(Spk).where(Spk.mo_id == mo["id"]))}
    p.input(spks["Cutting"].id, 2, "60", "2")
    p.input(spks["Cutting"].id, 1, "45", "3")
    with p.session() as s:
        spk_service.complete_spk(s, spk_id=spks["Cutting"].id, user="spv")
    p.deliver(spks["Cutting"].id, "105")
    with p.session() as s:
        from erp_warehouse.stock import MoveLine, post_stock_move

        line = MoveLine(p.products["THR"], p.locations["SUPPLIER"], p.locations["EMBROIDERY"], D(1))
        post_stock_move(s, hooks=p.hooks, lines=[line], reference="OPENING", user="test")
    admin, _ = create_test_user(p.site, "Admin Embroidery", "Embroidery")
    p.input(spks["Embroidery"].id, 0, "100", "3", "2", user=admin.username)

    progress = p.client.get(f"{API}/mo/{mo['id']}/progress", headers=p.as_("PPIC Admin")).json()
    expected = _expected_progress(p, mo["id"], today)
    got = {
        d["department"]: (D(d["target"]), D(d["good"]), D(d["defect"]), D(d["percent_done"]), d["schedule"])
        for d in progress["departments"]
    }
    assert got == expected
    assert progress["late"] is True
    by_dept = {d["department"]: d for d in progress["departments"]}
    # Embroidery: 2 of its 107 still to make, no cut panels left in its store, thread all used (debt).
    short = {x["product_id"]: D(x["short"]) for x in by_dept["Embroidery"]["materials_short"]}
    assert short == {p.products["WIP-CUT"]: D(2), p.products["THR"]: D("0.02")}
    assert D(by_dept["Embroidery"]["debt_open"]) == D("0.05")  # 105 x 0.01 consumed, 1 in stock
    sewing = {x["product_id"]: D(x["short"]) for x in by_dept["Sewing"]["materials_short"]}
    assert sewing == {p.products["WIP-EMB"]: D(107), p.products["THR"]: D("2.14")}
    assert D(progress["debt_open"]) == D("0.05") and D(progress["produced"]) == 0

    report = p.client.get(f"{API}/reports/weekly-production", headers=mgr).json()["rows"]
    assert [(r["week"], r["department"]) for r in report] == [
        (WEEK, d) for d in ("Cutting", "Embroidery", "Sewing", "Finishing", "Packing")
    ]
    assert {(r["week"], r["department"]): _row_values(r) for r in report} == _expected_weekly(p, today)
    csv_resp = p.client.get(f"{API}/reports/weekly-production?format=csv", headers=mgr)
    assert csv_resp.status_code == 200 and csv_resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_resp.text)))
    assert [(r["week"], r["department"], D(r["good"])) for r in rows] == [
        (r["week"], r["department"], D(r["good"])) for r in report
    ]
    assert p.client.get(f"{API}/reports/weekly-production", headers=p.as_("Security")).status_code == 403


def _row_values(row: dict[str, Any]) -> tuple[Any, ...]:
    def dec(v: Any) -> Decimal | None:
        return None if v is None else D(v)

    return (
        row["mos"],
        D(row["planned"]),
        D(row["good"]),
        D(row["defect"]),
        dec(row["yield_pct"]),
        row["completed"],
        row["on_time"],
    )


def _expected_progress(p: Ppic, mo_id: int, today: Any) -> dict[str, tuple[Any, ...]]:
    """Straight from the rows: targets, summed inputs, percent, late against the SPK deadline."""
    out = {}
    with p.site.sessions() as s:
        for spk in s.scalars(select(Spk).where(Spk.mo_id == mo_id)):
            inputs = list(s.scalars(select(DailyInput).where(DailyInput.spk_id == spk.id)))
            good = sum((x.good for x in inputs), D(0))
            defect = sum((x.defect for x in inputs), D(0))
            pct = (good * 100 / spk.target).quantize(D("0.01"))
            done_late = (
                spk.completed_at is not None
                and spk.completed_at.astimezone(ZoneInfo(p.site.settings.timezone)).date() > spk.deadline
            )
            late = done_late or (spk.state != "completed" and today > spk.deadline)
            out[spk.department] = (spk.target, good, defect, pct, "late" if late else "on_track")
    return out


def _expected_weekly(p: Ppic, today: Any) -> dict[tuple[str, str], tuple[Any, ...]]:
    acc: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {
            "mos": set(),
            "planned": D(0),
            "good": D(0),
            "defect": D(0),
            "rework": D(0),
            "completed": 0,
            "on_time": 0,
        }
    )
    with p.site.sessions() as s:
        for spk, mo in s.execute(
            select(Spk, ManufacturingOrder).join(ManufacturingOrder, ManufacturingOrder.id == Spk.mo_id)
        ).tuples():
            row = acc[(mo.week, spk.department)]
            row["mos"].add(mo.id)
            row["planned"] += spk.target
            for x in s.scalars(select(DailyInput).where(DailyInput.spk_id == spk.id)):
                row["good"] += x.good
                row["defect"] += x.defect
                row["rework"] += x.rework
            if spk.state == "completed":
                row["completed"] += 1
                row["on_time"] += int(
                    spk.completed_at.astimezone(ZoneInfo(p.site.settings.timezone)).date() <= spk.deadline
                )
    out = {}
    for key, row in acc.items():
        processed = row["good"] + row["defect"] + row["rework"]
        yield_pct = (row["good"] * 100 / processed).quantize(D("0.01")) if processed else None
        out[key] = (
            len(row["mos"]),
            row["planned"],
            row["good"],
            row["defect"],
            yield_pct,
            row["completed"],
            row["on_time"],
        )
    return out
