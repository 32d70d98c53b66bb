"""Lab tests (limits, evidence, bands, release, grants) and segregation (quarantine, acknowledge,
release, scrap: stock moves and audit, department scoping)."""

from __future__ import annotations

from decimal import Decimal

from erp_warehouse.models import StockBalance, StockLedger
from quality_testkit import Factory
from sqlalchemy import select

from kernel.audit.models import AuditLog

API = "/api/v1/quality"


def test_a_qc_inspector_cannot_record_lab_tests_but_qc_lab_can(factory: Factory, auth_headers) -> None:
    f = factory
    body = {"batch_number": "B-1", "test_type_id": f.test_types["DROP"], "measured_value": "12"}
    assert (
        f.client.post(
            f"{API}/lab/test", json=body, headers=auth_headers(f.client, "QC Inspector")
        ).status_code
        == 403
    )
    resp = f.client.post(f"{API}/lab/test", json=body, headers=auth_headers(f.client, "QC Lab"))
    assert resp.status_code == 201 and resp.json()["passed"] is True
    assert resp.json()["standard"].startswith("ISO 8124") and resp.json()["unit"] == "drops"


def test_lab_results_band_and_may_ship(factory: Factory, auth_headers) -> None:
    f, h = factory, auth_headers(factory.client, "QC Lab")
    seam = f.test_types["SEAM"]

    def record(value: str, evidence: str | None = "photo://1") -> int:
        body = {
            "batch_number": "B-2",
            "test_type_id": seam,
            "measured_value": value,
            "evidence_ref": evidence,
        }
        return f.client.post(f"{API}/lab/test", json=body, headers=h).status_code

    fail = f.client.post(
        f"{API}/lab/test",
        json={"batch_number": "B-2", "test_type_id": seam, "measured_value": "60"},
        headers=h,
    )
    assert fail.status_code == 422 and fail.json()["errors"][0]["field"] == "evidence_ref"
    bad_unit = {"batch_number": "B-2", "test_type_id": seam, "measured_value": "80", "unit": "kg"}
    assert f.client.post(f"{API}/lab/test", json=bad_unit, headers=h).status_code == 422
    for _ in range(9):
        assert record("80") == 201
    assert record("69.9") == 201  # one failure in ten: 90 %
    results = f.client.get(f"{API}/lab/results/B-2", headers=h).json()
    assert (results["tests"], results["failed"], Decimal(results["pass_rate"])) == (10, 1, Decimal(90))
    assert results["band"] == "warning" and results["may_ship"] is False
    assert f.client.post(f"{API}/lab/results/B-2/release", json={}, headers=h).status_code == 409
    for _ in range(10):
        record("75")
    results = f.client.get(f"{API}/lab/results/B-2", headers=h).json()
    assert Decimal(results["pass_rate"]) == Decimal(95) and results["band"] == "good" and results["may_ship"]
    released = f.client.post(f"{API}/lab/results/B-2/release", json={}, headers=h)
    assert released.status_code == 200 and released.json()["released"] is True
    assert record("80") == 409  # a released batch takes no more tests
    empty = f.client.get(f"{API}/lab/results/NONE", headers=h).json()
    assert empty["tests"] == 0 and empty["band"] is None and empty["may_ship"] is False
    for value, band in (("85", "warning"), ("84.99", "critical")):
        from erp_quality.lab import band as band_of

        assert band_of(Decimal(value)) == band


def test_lab_test_types_are_configurable(factory: Factory, auth_headers) -> None:
    f, h = factory, auth_headers(factory.client, "QC Lab")
    body = {"code": "PULL", "name": "Pull test", "unit": "N", "standard": "ISO 8124-1", "min_value": "90"}
    created = f.client.post(f"{API}/lab/test-types", json=body, headers=h)
    assert created.status_code == 201
    no_limit = {"code": "X", "name": "X", "unit": "N"}
    assert f.client.post(f"{API}/lab/test-types", json=no_limit, headers=h).status_code == 422
    tid = created.json()["id"]
    assert (
        f.client.patch(f"{API}/lab/test-types/{tid}", json={"max_value": "50"}, headers=h).status_code == 422
    )
    test = {"batch_number": "B-3", "test_type_id": tid, "measured_value": "91"}
    assert f.client.post(f"{API}/lab/test", json=test, headers=h).json()["passed"] is True


def _balances(f: Factory) -> dict[str, Decimal]:
    names = {v: k for k, v in f.locations.items()}
    with f.site.sessions() as s:
        rows = s.scalars(select(StockBalance).where(StockBalance.product_id == f.products["BEAR-SEWN"]))
        return {names[b.location_id]: b.on_hand for b in rows}


def test_segregation_is_acknowledged_then_released_or_scrapped_with_stock_moves(
    factory: Factory, auth_headers
) -> None:
    f = factory
    f.receive("BEAR-SEWN", "STORE-SEWING", "40")
    qc = auth_headers(f.client, "QC Inspector")
    body = {
        "product_id": f.products["BEAR-SEWN"],
        "from_location_id": f.locations["STORE-SEWING"],
        "quantity": "5",
        "reason": "suspect stain",
    }
    first = f.client.post(f"{API}/segregation/create", json=body, headers=qc).json()
    second = f.client.post(f"{API}/segregation/create", json={**body, "quantity": "3"}, headers=qc).json()
    assert first["department"] == "Sewing" and first["status"] == "quarantined"
    assert _balances(f) == {"STORE-SEWING": Decimal(32), "QUARANTINE": Decimal(8)}
    too_much = f.client.post(f"{API}/segregation/create", json={**body, "quantity": "33"}, headers=qc)
    assert too_much.status_code == 409
    assert (
        f.client.post(f"{API}/segregation/create", json={**body, "reason": ""}, headers=qc).status_code == 422
    )

    lab = auth_headers(f.client, "QC Lab")
    # not acknowledged yet: cannot be released
    assert f.client.post(f"{API}/segregations/{first['id']}/release", json={}, headers=lab).status_code == 409
    spv_cutting = auth_headers(f.client, "SPV Cutting")
    assert (
        f.client.post(
            f"{API}/segregations/{first['id']}/acknowledge", json={}, headers=spv_cutting
        ).status_code
        == 403
    )
    assert f.client.get(f"{API}/segregations", headers=spv_cutting).json()["total"] == 0
    spv = auth_headers(f.client, "SPV Sewing")
    for seg in (first, second):
        ack = f.client.post(f"{API}/segregations/{seg['id']}/acknowledge", json={"note": "seen"}, headers=spv)
        assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert f.client.post(f"{API}/segregations/{first['id']}/release", json={}, headers=spv).status_code == 403
    released = f.client.post(f"{API}/segregations/{first['id']}/release", json={"note": "clean"}, headers=lab)
    assert released.status_code == 200 and released.json()["status"] == "released"
    scrapped = f.client.post(f"{API}/segregations/{second['id']}/scrap", json={}, headers=lab)
    assert scrapped.status_code == 200 and scrapped.json()["status"] == "scrapped"
    assert f.client.post(f"{API}/segregations/{second['id']}/scrap", json={}, headers=lab).status_code == 409
    assert _balances(f) == {"STORE-SEWING": Decimal(37), "QUARANTINE": Decimal(0)}
    with f.site.sessions() as s:
        to_scrap = s.scalars(
            select(StockLedger.quantity).where(StockLedger.to_location_id == f.locations["SCRAP"])
        )
        assert list(to_scrap) == [Decimal(3)]
        actions = s.scalars(
            select(AuditLog.action)
            .where(AuditLog.entity_type == "quality.segregation", AuditLog.entity_id == str(first["id"]))
            .order_by(AuditLog.id)
        ).all()
    assert list(actions) == ["create", "acknowledge", "release"]
