"""HTTP API: BOM validation, daily input refusals and Idempotency-Key, SPK edit rules, events, scoping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from erp_approval import service as approval
from erp_production.models import DailyInput, Spk, SpkEdit
from erp_warehouse.models import StockLedger
from fastapi.testclient import TestClient
from production_testkit import PLUGINS, Factory, make_master_data
from sqlalchemy import func, select

from kernel.app import create_app
from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.events.models import OutboxEvent
from kernel.site import Site
from kernel.testing import login_headers

API = "/api/v1/production"


@pytest.fixture
def api(make_site: Callable[..., Site]) -> Any:
    """(client, factory, headers-by-role) on a production site."""
    site = make_site(PLUGINS)
    with unit_of_work(site.sessions) as session:
        data = make_master_data(session)
    f = Factory(site=site, **data)
    client = TestClient(create_app(site.settings, site=site))
    client.__enter__()
    headers: dict[str, dict[str, str]] = {}

    def as_role(role: str, department: str | None = None) -> dict[str, str]:
        key = f"{role}/{department}"
        if key not in headers:
            from kernel.testing import create_test_user

            user, password = create_test_user(site, role, department)
            f.users[key] = user
            headers[key] = login_headers(client, user.username, password)
        return headers[key]

    yield client, f, as_role
    client.__exit__(None, None, None)


def _released(client: TestClient, f: Factory, as_role: Any, batch: str = "B-1") -> list[dict[str, Any]]:
    ppic = as_role("PPIC Manager")
    r = client.post(
        f"{API}/mo",
        headers=ppic,
        json={
            "product_id": f.products["TEDDY"],
            "quantity": "100",
            "routing": "route1",
            "batch_number": batch,
        },
    )
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/mo/{r.json()['id']}/release", headers=ppic, json={"level": "full"})
    assert r.status_code == 200, r.text
    return r.json()


def _counts(f: Factory) -> tuple[int, int]:
    with f.session() as s:
        return (
            s.scalar(select(func.count(DailyInput.id))) or 0,
            s.scalar(select(func.count(StockLedger.id))) or 0,
        )


def test_bom_validation_refuses_self_component_cycle_and_second_active(api: Any) -> None:
    client, f, as_role = api
    h = as_role("PPIC Manager")
    p = f.products
    body = {
        "product_id": p["WIP-CUT"],
        "department": "Cutting",
        "revision": "B",
        "lines": [{"component_id": p["WIP-CUT"], "quantity": "1"}],
    }
    r = client.post(f"{API}/bom", headers=h, json=body)
    assert r.status_code == 422 and "own component" in r.text
    body["lines"] = [{"component_id": p["TEDDY"], "quantity": "1"}]
    body["department"] = "Subcon"
    r = client.post(f"{API}/bom", headers=h, json=body)
    assert r.status_code == 422 and "cycle" in r.text
    body["lines"] = [{"component_id": p["FAB"], "quantity": "0.4"}]
    body["department"] = "Cutting"
    r = client.post(f"{API}/bom", headers=h, json=body)
    assert r.status_code == 409 and "already has an active BOM" in r.text
    body["active"] = False
    r = client.post(f"{API}/bom", headers=h, json=body)
    assert r.status_code == 201
    r = client.get(f"{API}/bom/explode", headers=h, params={"product_id": p["TEDDY"], "quantity": "10"})
    assert r.status_code == 200, r.text
    totals = {int(k): Decimal(v) for k, v in r.json()["totals"].items()}
    assert totals[p["FAB"]] == Decimal("5.5") and totals[p["FILL"]] == Decimal("550.8")
    assert totals[p["THR"]] == Decimal("0.3") and totals[p["LBL"]] == Decimal(10)


def test_daily_input_refusals_write_nothing_and_idempotency_key_replays(api: Any) -> None:
    client, f, as_role = api
    spks = _released(client, f, as_role)
    cut = spks[0]
    f.stock_in("FAB", "CUTTING", "100")
    h = as_role("Admin Cutting", "Cutting")
    today = utcnow().date()
    before = _counts(f)
    url = f"{API}/spk/{cut['id']}/daily-input"
    r = client.post(url, headers=h, json={"work_date": str(today + timedelta(days=2)), "good": "1"})
    assert r.status_code == 422 and "future" in r.text
    r = client.post(url, headers=h, json={"work_date": str(today), "good": "-1"})
    assert r.status_code == 422
    r = client.post(url, headers=h, json={"work_date": str(today), "good": "111"})
    assert r.status_code == 422 and "exceed" in r.text
    assert _counts(f) == before
    sewing = as_role("Admin Sewing", "Sewing")
    assert client.post(url, headers=sewing, json={"work_date": str(today), "good": "1"}).status_code == 403

    key = {"Idempotency-Key": "daily-1"}
    r1 = client.post(url, headers=h | key, json={"work_date": str(today - timedelta(days=1)), "good": "50.5"})
    assert r1.status_code == 201, r1.text
    r2 = client.post(url, headers=h | key, json={"work_date": str(today - timedelta(days=1)), "good": "50.5"})
    assert r2.status_code == 201 and r2.headers.get("Idempotency-Replayed") == "true"
    assert r2.json() == r1.json()
    assert f.on_hand("WIP-CUT", "CUTTING") == Decimal("50.5")
    # A second post for the same date corrects it (audited), and output and materials follow.
    r = client.post(url, headers=h, json={"work_date": str(today - timedelta(days=1)), "good": "40"})
    assert r.status_code == 201 and r.json()["corrections"] == 1
    assert f.on_hand("WIP-CUT", "CUTTING") == Decimal(40)
    assert f.on_hand("FAB", "CUTTING") == Decimal(100) - Decimal(40) * Decimal("0.55")
    from kernel.audit.models import AuditLog

    with f.session() as s:
        actions = list(
            s.scalars(select(AuditLog.action).where(AuditLog.entity_type == "production.daily_input"))
        )
    assert sorted(actions) == ["correct", "create"]

    r = client.post(f"{API}/spk/{cut['id']}/complete", headers=h)
    assert r.status_code == 200 and r.json()["state"] == "completed"
    before = _counts(f)
    r = client.post(url, headers=h, json={"work_date": str(today), "good": "1"})
    assert r.status_code == 409 and "locked" in r.text
    assert _counts(f) == before
    progress = client.get(f"{API}/spk/{cut['id']}/progress", headers=h).json()
    assert Decimal(progress["good"]) == 40 and progress["state"] == "completed"
    r = client.get(f"{API}/reports/production-summary", headers=as_role("Manager"), params={"format": "csv"})
    assert r.status_code == 200 and "Cutting,40" in r.text


def test_spk_edit_rules_each_refused_and_approved_edit_applies(api: Any) -> None:
    client, f, as_role = api
    spks = _released(client, f, as_role)
    cut, emb = spks[0], spks[1]
    f.stock_in("FAB", "CUTTING", "100")
    ppic = as_role("PPIC Manager")
    today = utcnow().date()
    h = as_role("Admin Cutting", "Cutting")
    client.post(f"{API}/spk/{cut['id']}/daily-input", headers=h, json={"work_date": str(today), "good": "30"})

    r = client.put(f"{API}/spk/{cut['id']}/edit", headers=ppic, json={"target": "20"})
    assert r.status_code == 422 and "cannot drop below what is already produced (30" in r.text
    r = client.put(f"{API}/spk/{cut['id']}/edit", headers=ppic, json={"deadline": str(today)})
    assert r.status_code == 422 and "deadline must be in the future" in r.text
    r = client.put(f"{API}/spk/{cut['id']}/edit", headers=ppic, json={"product_id": f.products["WIP-EMB"]})
    assert r.status_code == 409 and "article cannot change once production started" in r.text

    r = client.put(
        f"{API}/spk/{cut['id']}/edit",
        headers=ppic,
        json={"target": "120", "notes": "rush", "reason": "buyer added 10"},
    )
    assert r.status_code == 202, r.text
    edit = r.json()
    assert edit["changes"]["target"] == {"old": "110.0000", "new": "120"} and edit["state"] == "pending"
    with f.session() as s:
        assert s.get(Spk, cut["id"]).target == Decimal(110)  # not applied before approval
    for role, dept in (("SPV Cutting", "Cutting"), ("Manager", None)):
        user = f.users.get(f"{role}/{dept}") or f.user(role, dept)
        with f.session() as s:
            approval.decide(
                s,
                request_id=edit["approval_request_id"],
                approver_id=user.id,
                approver_roles=(role,),
                approver_department=dept,
                decision="approve",
            )
    with f.session() as s:
        row = s.get(Spk, cut["id"])
        assert row is not None and row.target == Decimal(120) and row.notes == "rush"
        applied = s.get(SpkEdit, edit["id"])
        assert applied is not None and applied.state == "applied" and applied.applied_at is not None

    r = client.post(f"{API}/spk/{cut['id']}/complete", headers=h)
    assert r.status_code == 200
    r = client.put(f"{API}/spk/{cut['id']}/edit", headers=ppic, json={"notes": "late"})
    assert r.status_code == 409 and "a completed SPK cannot be edited" in r.text
    # The next SPK may not start before WIP was delivered to it.
    r = client.post(f"{API}/spk/{emb['id']}/start", headers=as_role("Admin Embroidery", "Embroidery"))
    assert r.status_code == 409 and "has not delivered WIP" in r.text


def test_on_mo_released_on_spk_started_on_spk_completed_events_are_emitted(api: Any) -> None:
    client, f, as_role = api
    spks = _released(client, f, as_role, batch="EV-1")
    h = as_role("SPV Cutting", "Cutting")
    assert client.post(f"{API}/spk/{spks[0]['id']}/start", headers=h).status_code == 200
    assert client.post(f"{API}/spk/{spks[0]['id']}/complete", headers=h).status_code == 200
    with f.session() as s:
        events = {e.name: e.payload for e in s.scalars(select(OutboxEvent))}
    assert events["mo_released"]["spk_ids"] == [x["id"] for x in spks]
    assert events["mo_released"]["level"] == "full"
    assert events["spk_started"]["department"] == "Cutting"
    done = events["spk_completed"]
    assert done["batch_number"] == "EV-1" and done["good"] == "0" and done["spk_id"] == spks[0]["id"]


def test_department_roles_see_only_their_department(api: Any) -> None:
    client, f, as_role = api
    spks = _released(client, f, as_role)
    h = as_role("Admin Sewing", "Sewing")
    items = client.get(f"{API}/spk", headers=h).json()["items"]
    assert {x["department"] for x in items} == {"Sewing"}
    assert client.get(f"{API}/spk/{spks[0]['id']}", headers=h).status_code == 404
    assert client.get(f"{API}/spk/{spks[0]['id']}", headers=as_role("PPIC Manager")).status_code == 200
    assert client.post(f"{API}/mo", headers=h, json={}).status_code == 403


def test_partial_then_full_release_and_allocation_preview_has_no_side_effects(api: Any) -> None:
    client, f, as_role = api
    ppic = as_role("PPIC Manager")
    r = client.post(
        f"{API}/mo",
        headers=ppic,
        json={
            "product_id": f.products["TEDDY"],
            "quantity": "10.5",
            "routing": "route1",
            "batch_number": "P-1",
        },
    )
    mo_id = r.json()["id"]
    assert (
        client.post(
            f"{API}/mo",
            headers=ppic,
            json={
                "product_id": f.products["TEDDY"],
                "quantity": "1",
                "routing": "route1",
                "batch_number": "P-1",
            },
        ).status_code
        == 409
    )
    partial = client.post(f"{API}/mo/{mo_id}/release", headers=ppic, json={"level": "partial"}).json()
    assert [x["department"] for x in partial] == ["Cutting", "Embroidery"]
    assert (
        client.post(f"{API}/mo/{mo_id}/release", headers=ppic, json={"level": "partial"}).status_code == 409
    )
    full = client.post(f"{API}/mo/{mo_id}/release", headers=ppic, json={"level": "full"}).json()
    assert [x["department"] for x in full] == ["Sewing", "Finishing", "Packing"]
    assert client.get(f"{API}/mo/{mo_id}", headers=ppic).json()["release_level"] == "full"

    cut = partial[0]
    assert Decimal(cut["target"]) == Decimal(12)  # 10.5 x 1.10 = 11.55, rounded up to a whole piece
    f.stock_in("FAB", "CUTTING", "4", lot="R1")
    preview = client.get(f"{API}/bom/allocation-preview/{cut['id']}", headers=ppic).json()
    line = preview["lines"][0]
    assert (Decimal(line["required"]), Decimal(line["reserved_now"]), Decimal(line["shortage"])) == (
        Decimal("6.6"),
        Decimal(4),
        Decimal("2.6"),
    )
    dry = client.post(
        f"{API}/bom/create-with-auto-allocation", headers=ppic, json={"spk_id": cut["id"], "dry_run": True}
    )
    assert dry.status_code == 200 and dry.json()["lines"] == preview["lines"]
    assert f.reserved("FAB", "CUTTING") == 0
    for _ in range(2):
        r = client.post(f"{API}/bom/create-with-auto-allocation", headers=ppic, json={"spk_id": cut["id"]})
        assert r.status_code == 200
    assert f.reserved("FAB", "CUTTING") == Decimal(4)
    progress = client.get(f"{API}/spk/{cut['id']}/progress", headers=ppic).json()
    assert Decimal(progress["materials"][0]["allocated"]) == 4


def test_on_daily_input_posted_is_emitted_for_each_entry_and_correction_not_for_refusals(api: Any) -> None:
    client, f, as_role = api
    cut = _released(client, f, as_role, batch="DI-1")[0]
    f.stock_in("FAB", "CUTTING", "100")
    h = as_role("Admin Cutting", "Cutting")
    day = str(utcnow().date() - timedelta(days=1))
    url = f"{API}/spk/{cut['id']}/daily-input"
    assert client.post(url, headers=h, json={"work_date": day, "good": "111"}).status_code == 422
    r = client.post(url, headers=h, json={"work_date": day, "good": "20", "defect": "1.5"})
    assert r.status_code == 201, r.text
    assert client.post(url, headers=h, json={"work_date": day, "good": "25"}).status_code == 201
    with f.session() as s:
        posted = [
            e.payload
            for e in s.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.name == "daily_input_posted")
                .order_by(OutboxEvent.emitted_at)
            )
        ]
    common = {
        "daily_input_id": r.json()["id"],
        "spk_id": cut["id"],
        "spk_number": cut["number"],
        "mo_id": cut["mo_id"],
        "department": "Cutting",
        "work_date": day,
        "rework": "0",
    }
    assert posted == [
        {**common, "good": "20", "defect": "1.5", "corrected": False},
        {**common, "good": "25", "defect": "0", "corrected": True},
    ]
