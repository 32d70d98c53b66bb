"""HTTP: master data CRUD, deactivation, CSV export and import, unit conversions; audit of changes."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from kernel.audit.models import AuditLog

BASE = "/api/v1/warehouse"


def fields(resp) -> set[str]:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return {e["field"] for e in resp.json().get("errors", [])}


def test_product_crud_deactivate_and_audit(api) -> None:
    wa = api.as_("Warehouse Admin")
    body = {
        "code": "DOLL-1",
        "name": "Doll",
        "type": "finished_good",
        "unit_id": api.units["PCS"],
        "pcs_per_carton": 60,
    }
    assert (
        api.client.post(f"{BASE}/products", json=body, headers=api.as_("Warehouse Operator")).status_code
        == 403
    )
    created = api.client.post(f"{BASE}/products", json=body, headers=wa)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert api.client.post(f"{BASE}/products", json=body, headers=wa).status_code == 409  # code taken
    bad = api.client.post(
        f"{BASE}/products", json={**body, "code": "", "type": "toy", "unit_id": 999999}, headers=wa
    )
    assert bad.status_code == 422 and {"code", "type"} <= fields(bad)
    unknown_unit = api.client.post(
        f"{BASE}/products", json={**body, "code": "X", "unit_id": 999999}, headers=wa
    )
    assert unknown_unit.status_code == 422 and "unit_id" in fields(unknown_unit)
    changed = api.client.patch(
        f"{BASE}/products/{pid}", json={"name": "Brown doll", "min_stock": "12.5"}, headers=wa
    )
    assert changed.status_code == 200 and changed.json()["name"] == "Brown doll"
    bad = api.client.patch(f"{BASE}/products/{pid}", json={"min_stock": "-1", "colour": "x"}, headers=wa)
    assert bad.status_code == 422 and {"min_stock", "colour"} <= fields(bad)
    assert api.client.patch(f"{BASE}/products/999999", json={"name": "x"}, headers=wa).status_code == 404
    assert (
        api.client.patch(
            f"{BASE}/products/{pid}", json={"name": "y"}, headers=api.as_("Purchasing")
        ).status_code
        == 403
    )
    assert (
        api.client.get(f"{BASE}/products/{pid}", headers=api.as_("Purchasing")).json()["name"] == "Brown doll"
    )
    assert api.client.get(f"{BASE}/products/999999", headers=wa).status_code == 404
    off = api.client.post(f"{BASE}/products/{pid}/deactivate", headers=wa)
    assert off.status_code == 200 and off.json()["active"] is False
    assert api.client.post(f"{BASE}/products/999999/deactivate", headers=wa).status_code == 404
    with api.site.sessions() as s:
        rows = s.execute(
            select(AuditLog.action, AuditLog.old, AuditLog.new)
            .where(AuditLog.entity_type == "warehouse.product", AuditLog.entity_id == str(pid))
            .order_by(AuditLog.id)
        ).all()
    assert [r.action for r in rows] == ["create", "update", "deactivate"]
    assert "Brown doll" in rows[1].new and "Doll" in rows[1].old


def test_lists_filter_search_sort_and_page(api) -> None:
    h = api.as_("PPIC Admin")
    page = api.client.get(
        f"{BASE}/products", params={"filter": "type=wip", "sort": "-code", "limit": 1}, headers=h
    )
    assert page.status_code == 200, page.text
    assert (page.json()["total"], [p["code"] for p in page.json()["items"]]) == (2, ["WIP-CUT2"])
    found = api.client.get(f"{BASE}/locations", params={"search": "sew"}, headers=h).json()
    assert [x["code"] for x in found["items"]] == ["SEWING"]
    bad = api.client.get(f"{BASE}/products", params={"filter": "colour=red", "sort": "nope"}, headers=h)
    assert bad.status_code == 422 and {"colour", "sort"} <= fields(bad)
    assert api.client.get(f"{BASE}/partners", headers=api.as_("QC Lab")).status_code == 403


def test_csv_export_then_import_round_trip(api) -> None:
    wa = api.as_("Warehouse Admin")
    resp = api.client.get(f"{BASE}/products/export", headers=wa)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert {r["code"] for r in rows} == {"FAB-BROWN", "FILL", "EYES", "WIP-CUT", "WIP-CUT2"}
    fill = next(r for r in rows if r["code"] == "FILL")
    assert (fill["unit"], fill["category"], fill["type"]) == ("G", "FABRIC", "raw_material")
    assert api.client.get(f"{BASE}/products/export", headers=api.as_("Purchasing")).status_code == 403
    upload = (
        "code,name,type,unit,min_stock\n"
        "FILL,Dacron filling,raw_material,G,500\n"
        "THREAD,Thread,auxiliary,PCS,0\n"
    )
    csv_headers = {**wa, "Content-Type": "text/csv"}
    done = api.client.post(f"{BASE}/products/import", content=upload, headers=csv_headers)
    assert done.status_code == 200, done.text
    assert done.json() == {"created": 1, "updated": 1}
    broken = "code,name,type,unit\nA,,wip,PCS\nB,Bee,wip,NOPE\n"
    bad = api.client.post(f"{BASE}/products/import", content=broken, headers=csv_headers)
    assert bad.status_code == 422
    assert {(e["row"], e["field"]) for e in bad.json()["errors"]} == {(2, "name"), (3, "unit")}
    assert api.client.post(f"{BASE}/products/import", json={}, headers=wa).status_code == 422
    assert (
        api.client.post(
            f"{BASE}/products/import",
            content=upload,
            headers={**api.as_("Warehouse Operator"), "Content-Type": "text/csv"},
        ).status_code
        == 403
    )
    listed = api.client.get(f"{BASE}/products", params={"search": "thread"}, headers=wa).json()
    assert [p["code"] for p in listed["items"]] == ["THREAD"]


def test_unit_conversions(api) -> None:
    wa = api.as_("Warehouse Admin")
    body = {
        "from_unit_id": api.units["ROLL"],
        "to_unit_id": api.units["M"],
        "factor": "50",
        "product_id": api.products["FAB-BROWN"],
    }
    created = api.client.post(f"{BASE}/units/conversions", json=body, headers=wa)
    assert created.status_code == 201, created.text
    assert api.client.post(f"{BASE}/units/conversions", json=body, headers=wa).status_code == 409
    bad = api.client.post(
        f"{BASE}/units/conversions", json={**body, "factor": "0", "to_unit_id": 999999}, headers=wa
    )
    assert bad.status_code == 422 and "factor" in fields(bad)
    same = api.client.post(
        f"{BASE}/units/conversions", json={**body, "to_unit_id": api.units["ROLL"]}, headers=wa
    )
    assert same.status_code == 422 and "to_unit_id" in fields(same)
    listed = api.client.get(f"{BASE}/units/conversions", headers=api.as_("Purchasing")).json()
    assert listed["total"] == 1
    assert (
        api.client.post(f"{BASE}/units/conversions", json=body, headers=api.as_("Purchasing")).status_code
        == 403
    )
    units = api.client.get(f"{BASE}/units", params={"limit": 500}, headers=wa).json()
    assert units["total"] == 5


def test_openapi_documents_the_warehouse_api(api) -> None:
    spec = api.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/warehouse/stock/summary", "get"),
        ("/api/v1/warehouse/stock/move", "post"),
        ("/api/v1/warehouse/transfer/inter-dept", "post"),
        ("/api/v1/warehouse/stock/lot/{lot_id}", "get"),
        ("/api/v1/warehouse/po/create", "post"),
        ("/api/v1/warehouse/po/{po_id}/receive", "put"),
        ("/api/v1/warehouse/reports/inventory", "get"),
        ("/api/v1/warehouse/products/{record_id}", "patch"),
    ]:
        assert method in paths[path], (path, method)
    assert "ProductPatch" in spec["components"]["schemas"]
