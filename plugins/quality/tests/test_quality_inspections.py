"""Inspections: arithmetic and category validation, permissions, department scoping, metal detector,
final inspections created once per SPK."""

from __future__ import annotations

from decimal import Decimal

from erp_quality.inspections import create_final_inspection
from erp_quality.models import Inspection
from erp_warehouse.models import StockBalance, StockLedger
from quality_testkit import Factory, make_spk
from sqlalchemy import select

from kernel.db import unit_of_work
from kernel.events.models import OutboxEvent

API = "/api/v1/quality"


def inline(f: Factory, **over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "checkpoint": "after_sewing",
        "batch_number": "B-1",
        "product_id": f.products["BEAR-SEWN"],
        "inspected_qty": "100",
        "pass_qty": "90",
        "rework_qty": "8",
        "scrap_qty": "2",
        "defects": [
            {"category_id": f.categories["ST-OPEN"], "quantity": "6", "location_on_toy": "back seam"}
        ],
    }
    body.update(over)
    return body


def fields(resp) -> set[str]:  # type: ignore[no-untyped-def]
    return {e["field"] for e in resp.json()["errors"]}


def test_inline_inspection_is_recorded_and_fails_on_scrap(factory: Factory, auth_headers) -> None:
    h = auth_headers(factory.client, "QC Inspector")
    resp = factory.client.post(f"{API}/inspection/inline", json=inline(factory), headers=h)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["department"] == "Sewing" and body["status"] == "failed"
    assert Decimal(body["inspected_qty"]) == 100 and body["defects"][0]["location_on_toy"] == "back seam"
    clean = inline(factory, pass_qty="92", rework_qty="8", scrap_qty="0")
    assert factory.client.post(f"{API}/inspection/inline", json=clean, headers=h).json()["status"] == "passed"


def test_inspection_arithmetic_and_categories_are_validated_with_field_errors(
    factory: Factory, auth_headers
) -> None:
    f, h = factory, auth_headers(factory.client, "QC Inspector")
    post = lambda body: f.client.post(f"{API}/inspection/inline", json=body, headers=h)  # noqa: E731
    resp = post(inline(f, pass_qty="91"))
    assert resp.status_code == 422 and "inspected_qty" in fields(resp)
    resp = post(inline(f, defects=[{"category_id": 999999, "quantity": "1"}]))
    assert resp.status_code == 422 and "defects.0.category_id" in fields(resp)
    resp = post(inline(f, defects=[{"category_id": f.categories["ST-OPEN"], "quantity": "11"}]))
    assert resp.status_code == 422 and "defects.0.quantity" in fields(resp)
    assert post(inline(f, scrap_qty="-2", pass_qty="94")).status_code == 422
    assert post(inline(f, inspected_qty="100.00001")).status_code == 422
    resp = post(inline(f, batch_number=None))
    assert resp.status_code == 422 and "spk_id" in fields(resp)
    resp = post(inline(f, metal_detector={"checked_qty": "100", "failed_qty": "1"}))
    assert resp.status_code == 422 and "metal_detector" in fields(resp)  # not at after_sewing
    # deactivated categories are refused too
    qc_lab = auth_headers(f.client, "QC Lab")
    cid = f.categories["ST-OPEN"]
    assert (
        f.client.patch(f"{API}/defect-categories/{cid}", json={"active": False}, headers=qc_lab).status_code
        == 200
    )
    assert "defects.0.category_id" in fields(post(inline(f)))
    with f.site.sessions() as s:
        assert s.scalar(select(Inspection.id)) is None


def test_defect_category_crud_validates_type_and_severity(factory: Factory, auth_headers) -> None:
    f, h = factory, auth_headers(factory.client, "QC Lab")
    bad = f.client.post(
        f"{API}/defect-categories",
        json={"code": "X", "name": "X", "defect_type": "glue", "severity": "minor"},
        headers=h,
    )
    assert bad.status_code == 422
    ok = f.client.post(
        f"{API}/defect-categories",
        json={"code": "X", "name": "X", "defect_type": "other", "severity": "minor"},
        headers=h,
    )
    assert ok.status_code == 201
    assert (
        f.client.post(
            f"{API}/defect-categories",
            json={"code": "X", "name": "Y", "defect_type": "other", "severity": "minor"},
            headers=h,
        ).status_code
        == 409
    )
    inspector = auth_headers(f.client, "QC Inspector")
    assert (
        f.client.post(
            f"{API}/defect-categories",
            json={"code": "Z", "name": "Z", "defect_type": "other", "severity": "minor"},
            headers=inspector,
        ).status_code
        == 403
    )
    assert f.client.delete(f"{API}/defect-categories/{ok.json()['id']}", headers=h).status_code == 204
    listed = f.client.get(
        f"{API}/defect-categories", params={"defect_type": "stitching"}, headers=inspector
    ).json()
    assert {c["code"] for c in listed["items"]} == {"ST-OPEN", "ST-SKIP"}


def test_department_scoping_holds_for_inspections(factory: Factory, auth_headers) -> None:
    f = factory
    h = auth_headers(f.client, "QC Inspector")
    sewing = f.client.post(f"{API}/inspection/inline", json=inline(f), headers=h).json()
    cutting = f.client.post(
        f"{API}/inspection/inline", json=inline(f, checkpoint="after_cutting"), headers=h
    ).json()
    spv = auth_headers(f.client, "SPV Sewing")
    listed = f.client.get(f"{API}/inspections", headers=spv).json()
    assert [i["id"] for i in listed["items"]] == [sewing["id"]] and listed["total"] == 1
    assert f.client.get(f"{API}/inspections/{cutting['id']}", headers=spv).status_code == 404
    assert f.client.get(f"{API}/inspections/{sewing['id']}", headers=spv).status_code == 200
    # a scoped reader's report covers their department only
    report = f.client.get(f"{API}/reports/defect-analysis", headers=spv).json()
    assert [y["department"] for y in report["yields"]] == ["Sewing"]
    # an SPV records no inspection at all
    assert f.client.post(f"{API}/inspection/inline", json=inline(f), headers=spv).status_code == 403
    manager = auth_headers(f.client, "Manager")
    assert f.client.get(f"{API}/inspections", headers=manager).json()["total"] == 2


def test_metal_detector_failure_quarantines_exactly_the_failed_quantity(
    factory: Factory, auth_headers
) -> None:
    f = factory
    f.receive("BEAR-DOLL", "STORE-PACKING", "100")
    h = auth_headers(f.client, "QC Inspector")
    body = inline(
        f,
        checkpoint="pre_packing",
        product_id=f.products["BEAR-DOLL"],
        inspected_qty="100",
        pass_qty="97",
        rework_qty="0",
        scrap_qty="3",
        defects=[{"category_id": f.categories["OT-METAL"], "quantity": "3", "location_on_toy": "head"}],
        metal_detector={"checked_qty": "100", "failed_qty": "3", "detector": "MD-1"},
    )
    resp = f.client.post(f"{API}/inspection/inline", json=body, headers=h)
    assert resp.status_code == 201, resp.text
    out = resp.json()
    assert out["status"] == "failed" and out["department"] == "Packing"
    seg_id = out["metal_checks"][0]["segregation_id"]
    assert seg_id is not None
    with f.site.sessions() as s:
        balances = {
            b.location_id: b.on_hand
            for b in s.scalars(select(StockBalance).where(StockBalance.product_id == f.products["BEAR-DOLL"]))
        }
        assert balances == {f.locations["STORE-PACKING"]: Decimal(97), f.locations["QUARANTINE"]: Decimal(3)}
        ledger = s.scalars(
            select(StockLedger).where(StockLedger.to_location_id == f.locations["QUARANTINE"])
        ).all()
        assert [(row.quantity, row.from_location_id) for row in ledger] == [
            (Decimal(3), f.locations["STORE-PACKING"])
        ]
    seg = f.client.get(f"{API}/segregations/{seg_id}", headers=h).json()
    assert (
        seg["source"] == "metal_detector" and Decimal(seg["quantity"]) == 3 and seg["status"] == "quarantined"
    )


def test_on_inspection_failed_is_emitted_critical_for_a_metal_failure(factory: Factory, auth_headers) -> None:
    f = factory
    f.receive("BEAR-DOLL", "STORE-PACKING", "10")
    h = auth_headers(f.client, "QC Inspector")
    body = inline(
        f,
        checkpoint="pre_packing",
        product_id=f.products["BEAR-DOLL"],
        inspected_qty="10",
        pass_qty="9",
        rework_qty="1",
        scrap_qty="0",
        defects=[],
        metal_detector={"checked_qty": "10", "failed_qty": "1"},
    )
    insp = f.client.post(f"{API}/inspection/inline", json=body, headers=h).json()
    with f.site.sessions() as s:
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.name == "inspection_failed")).all()
    assert len(events) == 1
    payload = events[0].payload
    assert payload["severity"] == "critical" and payload["reason"] == "metal_detector"
    assert payload["inspection_id"] == insp["id"] and Decimal(payload["failed_quantity"]) == 1
    assert payload["segregation_id"] == insp["metal_checks"][0]["segregation_id"]
    # a metal failure with nothing in stock to quarantine is refused, and nothing is written
    body["metal_detector"] = {"checked_qty": "10", "failed_qty": "1"}
    resp = f.client.post(
        f"{API}/inspection/inline", json={**body, "product_id": f.products["BUNNY-DOLL"]}, headers=h
    )
    assert resp.status_code == 409
    with f.site.sessions() as s:
        assert len(s.scalars(select(Inspection.id)).all()) == 1


def test_final_inspection_is_created_once_and_completed_by_an_inspector(
    factory: Factory, auth_headers
) -> None:
    f = factory
    f.receive("BEAR-DOLL", "STORE-PACKING", "50")
    spk_id = make_spk(f.site, product_id=f.products["BEAR-DOLL"], store_id=f.locations["STORE-PACKING"])
    for _ in range(2):
        with unit_of_work(f.site.sessions) as s:
            create_final_inspection(
                s,
                spk_id=spk_id,
                department="Packing",
                quantity=Decimal(50),
                product_id=f.products["BEAR-DOLL"],
                batch_number="B-77",
            )
    h = auth_headers(f.client, "QC Inspector")
    pending = f.client.get(f"{API}/inspections/pending-final", headers=h).json()
    assert pending["total"] == 1 and pending["items"][0]["spk_id"] == spk_id
    result = {
        "spk_id": spk_id,
        "inspected_qty": "50",
        "pass_qty": "49",
        "rework_qty": "1",
        "scrap_qty": "0",
        "metal_detector": {"checked_qty": "50", "failed_qty": "1"},
    }
    too_many = f.client.post(
        f"{API}/inspection/final", json={**result, "inspected_qty": "51", "pass_qty": "50"}, headers=h
    )
    assert too_many.status_code == 422 and "inspected_qty" in fields(too_many)
    done = f.client.post(f"{API}/inspection/final", json=result, headers=h)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "failed" and done.json()["inspector"]
    assert f.client.post(f"{API}/inspection/final", json=result, headers=h).status_code == 409
    assert f.client.get(f"{API}/inspections/pending-final", headers=h).json()["total"] == 0


def test_a_retried_inline_inspection_with_an_idempotency_key_is_recorded_once(
    factory: Factory, auth_headers
) -> None:
    f = factory
    h = {**auth_headers(f.client, "QC Inspector"), "Idempotency-Key": "tablet-42-1"}
    first = f.client.post(f"{API}/inspection/inline", json=inline(f), headers=h)
    again = f.client.post(f"{API}/inspection/inline", json=inline(f), headers=h)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotency-Replayed") == "true" and again.json()["id"] == first.json()["id"]
    with f.site.sessions() as s:
        assert len(s.scalars(select(Inspection.id)).all()) == 1
