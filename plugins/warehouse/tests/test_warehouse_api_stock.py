"""HTTP: stock summary, moves (idempotent), lots, ledger, reservations, inventory report and its CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from erp_warehouse.models import StockLedger, StockMove
from sqlalchemy import func, select

from kernel.audit.models import AuditLog

BASE = "/api/v1/warehouse"
D = Decimal


def fields(resp) -> set[str]:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return {e["field"] for e in resp.json().get("errors", [])}


def count(api, model) -> int:
    with api.site.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def move_body(api, product="FILL", src="MAIN", dst="CUTTING", qty="10.5", reference="ISSUE-1"):
    return {
        "reference": reference,
        "lines": [
            {
                "product_id": api.products[product],
                "from_location_id": api.locations[src],
                "to_location_id": api.locations[dst],
                "quantity": qty,
            }
        ],
    }


def test_stock_move_posts_once_per_idempotency_key(api) -> None:
    api.receive("FILL", "MAIN", 100)
    headers = {**api.as_("Warehouse Operator"), "Idempotency-Key": "scan-0001"}
    first = api.client.post(f"{BASE}/stock/move", json=move_body(api), headers=headers)
    assert first.status_code == 201, first.text
    assert D(first.json()["lines"][0]["posted"]) == D("10.5")
    moves = count(api, StockMove)
    again = api.client.post(f"{BASE}/stock/move", json=move_body(api), headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotency-Replayed") == "true"
    assert count(api, StockMove) == moves
    other = api.client.post(f"{BASE}/stock/move", json=move_body(api, qty="1"), headers=headers)
    assert other.status_code == 422  # same key, different request


def test_stock_move_refuses_wrong_role_bad_input_and_short_stock(api) -> None:
    url = f"{BASE}/stock/move"
    assert api.client.post(url, json=move_body(api), headers=api.as_("Purchasing")).status_code == 403
    assert api.client.post(url, json=move_body(api), headers=api.as_("Finance Manager")).status_code == 403
    op = api.as_("Warehouse Operator")
    bad = api.client.post(url, json=move_body(api, qty="-1"), headers=op)
    assert bad.status_code == 422 and "lines.0.quantity" in fields(bad)
    bad = api.client.post(url, json={"reference": "", "lines": []}, headers=op)
    assert bad.status_code == 422 and {"reference", "lines"} <= fields(bad)
    body = move_body(api)
    body["lines"][0]["product_id"] = 999999
    unknown = api.client.post(url, json=body, headers=op)
    assert unknown.status_code == 422 and "lines.0.product_id" in fields(unknown)
    short = api.client.post(url, json=move_body(api, qty="5"), headers=op)
    assert short.status_code == 409, short.text
    assert D(short.json()["shortfall"]) == D(5)
    assert count(api, StockLedger) == 0


def test_stock_summary_filters_pages_and_below_minimum(api) -> None:
    api.receive("FILL", "MAIN", 100)
    api.receive("FILL", "CUTTING", 5)
    api.receive("EYES", "MAIN", 3)
    with api.site.sessions.begin() as s:
        from erp_warehouse.models import Product

        s.get(Product, api.products["EYES"]).min_stock = D(10)
    url = f"{BASE}/stock/summary"
    assert api.client.get(url, headers=api.as_("Purchasing")).status_code == 200
    assert api.client.get(url, headers=api.as_("QC Inspector")).status_code == 403
    h = api.as_("PPIC Manager")
    page = api.client.get(url, params={"limit": 2}, headers=h).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (3, 2, 0, 2)
    rest = api.client.get(url, params={"limit": 2, "offset": 2}, headers=h).json()
    assert len(rest["items"]) == 1
    fill = api.client.get(url, params={"product_id": api.products["FILL"]}, headers=h).json()
    assert sorted((r["location_code"], D(r["on_hand"])) for r in fill["items"]) == [
        ("CUTTING", D(5)),
        ("MAIN", D(100)),
    ]
    at_main = api.client.get(url, params={"location_id": api.locations["MAIN"]}, headers=h).json()
    assert at_main["total"] == 2
    below = api.client.get(url, params={"below_min": "true"}, headers=h).json()
    assert [r["product_code"] for r in below["items"]] == ["EYES"]
    bad = api.client.get(url, params={"limit": 0, "product_id": "x"}, headers=h)
    assert bad.status_code == 422 and {"limit", "product_id"} <= fields(bad)


def test_lot_detail_and_product_ledger(api) -> None:
    h = api.as_("Warehouse Admin")
    lot = api.client.post(
        f"{BASE}/lots", json={"code": "ROLL-1", "product_id": api.products["FAB-BROWN"]}, headers=h
    ).json()
    body = move_body(api, product="FAB-BROWN", src="SUPPLIER", dst="MAIN", qty="50", reference="GR-1")
    body["lines"][0]["lot_id"] = lot["id"]
    assert api.client.post(f"{BASE}/stock/move", json=body, headers=h).status_code == 201
    detail = api.client.get(f"{BASE}/stock/lot/{lot['id']}", headers=api.as_("Admin Cutting")).json()
    assert detail["lot"]["code"] == "ROLL-1"
    assert [(b["location_code"], D(b["on_hand"])) for b in detail["balances"]] == [("MAIN", D(50))]
    assert [m["reference"] for m in detail["moves"]] == ["GR-1"]
    assert api.client.get(f"{BASE}/stock/lot/999999", headers=h).status_code == 404
    ledger = api.client.get(
        f"{BASE}/stock/ledger", params={"product_id": api.products["FAB-BROWN"]}, headers=h
    ).json()
    assert ledger["total"] == 1 and D(ledger["items"][0]["quantity"]) == D(50)
    assert api.client.get(f"{BASE}/stock/ledger", params={"product_id": 999999}, headers=h).status_code == 404
    missing = api.client.get(f"{BASE}/stock/ledger", headers=h)
    assert missing.status_code == 422 and "product_id" in fields(missing)
    assert api.client.get(f"{BASE}/stock/lot/1", headers=api.as_("Security")).status_code == 403


def test_reserve_and_release(api) -> None:
    api.receive("EYES", "MAIN", 10)
    url = f"{BASE}/stock/reservations"
    body = {
        "product_id": api.products["EYES"],
        "location_id": api.locations["MAIN"],
        "quantity": "6",
        "reference": "SPK-1",
    }
    assert api.client.post(url, json=body, headers=api.as_("Warehouse Operator")).status_code == 403
    h = api.as_("Warehouse Admin")
    res = api.client.post(url, json=body, headers=h)
    assert res.status_code == 201, res.text
    assert api.client.post(url, json=body, headers=h).status_code == 409  # only 4 free
    bad = api.client.post(url, json={**body, "quantity": "0"}, headers=h)
    assert bad.status_code == 422 and "quantity" in fields(bad)
    rid = res.json()["id"]
    part = api.client.post(f"{url}/{rid}/release", json={"quantity": "2"}, headers=h)
    assert part.status_code == 200 and D(part.json()["quantity"]) == D(4)
    assert api.client.post(f"{url}/{rid}/release", json={"quantity": "9"}, headers=h).status_code == 409
    assert D(api.client.post(f"{url}/{rid}/release", json={}, headers=h).json()["quantity"]) == 0
    assert api.client.post(f"{url}/999999/release", json={}, headers=h).status_code == 404


def test_inventory_report_json_and_csv_content(api) -> None:
    api.receive("FILL", "MAIN", 100)
    api.receive("FILL", "CUTTING", "2.5")
    url = f"{BASE}/reports/inventory"
    assert api.client.get(url, headers=api.as_("Warehouse Operator")).status_code == 403
    h = api.as_("Finance Manager")
    page = api.client.get(url, params={"limit": 500}, headers=h).json()
    fill = [r for r in page["items"] if r["product_code"] == "FILL"]
    assert sorted((r["location_code"], D(r["on_hand"])) for r in fill) == [
        ("CUTTING", D("2.5")),
        ("MAIN", D(100)),
    ]
    assert {D(r["product_total"]) for r in fill} == {D("102.5")}
    resp = api.client.get(url, params={"format": "csv"}, headers=h)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == page["total"]
    by = {(r["product"], r["location"]): r for r in rows}
    assert D(by[("FILL", "MAIN")]["on_hand"]) == D(100)
    assert D(by[("FILL", "CUTTING")]["product_total"]) == D("102.5")
    assert by[("EYES", "-")]["below_minimum"] == "no"
    bad = api.client.get(url, params={"format": "xml"}, headers=h)
    assert bad.status_code == 422 and "format" in fields(bad)


def test_stock_moves_are_audited_by_the_kernel(api) -> None:
    api.receive("FILL", "MAIN", 10)
    h = api.as_("Warehouse Operator")
    assert api.client.post(f"{BASE}/stock/move", json=move_body(api, qty="1"), headers=h).status_code == 201
    with api.site.sessions() as s:
        paths = set(s.scalars(select(AuditLog.path).where(AuditLog.path.like("%/warehouse/stock/move"))))
    assert paths
