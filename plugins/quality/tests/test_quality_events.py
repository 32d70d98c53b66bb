"""The event path: completing an SPK yields exactly one pending final inspection (in process, delivered
twice, and with real `erp worker` processes killed mid-stream); quality's own events reach subscribers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from erp_production.events import SpkCompleted
from erp_quality.events import InspectionRecorded
from erp_quality.inspections import create_final_inspection
from erp_quality.models import Inspection
from quality_testkit import PLUGINS, Factory, complete_spk, make_factory_data, make_spk
from sqlalchemy import func, select

from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.events import emit
from kernel.events.models import EventDelivery, OutboxEvent
from kernel.testing import drain_events, wait_until

API = "/api/v1/quality"


def final_inspections(site: Any) -> list[Inspection]:
    with site.sessions() as s:
        return list(s.scalars(select(Inspection).where(Inspection.kind == "final").order_by(Inspection.id)))


def test_on_spk_completed_creates_one_pending_final_inspection_even_when_delivered_twice(
    factory: Factory, auth_headers
) -> None:
    f = factory
    spk_id = make_spk(
        f.site, product_id=f.products["BEAR-DOLL"], store_id=f.locations["STORE-PACKING"], good="48"
    )
    complete_spk(f.site, spk_id)
    drain_events(f.site)
    [inspection] = final_inspections(f.site)
    assert (inspection.status, inspection.spk_id, inspection.department) == ("pending", spk_id, "Packing")
    assert inspection.expected_qty == Decimal(48) and inspection.location_id == f.locations["STORE-PACKING"]
    assert inspection.product_id == f.products["BEAR-DOLL"] and inspection.batch_number

    # The same completion delivered again as a second event (a producer retry), and handled again.
    with f.site.sessions() as s:
        payload = s.scalar(select(OutboxEvent.payload).where(OutboxEvent.name == "spk_completed"))
    with unit_of_work(f.site.sessions) as s:
        emit(s, "spk_completed", SpkCompleted.model_validate(payload), aggregate=f"spk:{spk_id}")
    drain_events(f.site)
    with f.site.sessions() as s:
        statuses = s.scalars(select(EventDelivery.status).where(EventDelivery.plugin == "quality")).all()
    assert statuses == ["delivered", "delivered"]
    assert [i.id for i in final_inspections(f.site)] == [inspection.id]

    pending = f.client.get(f"{API}/inspections/pending-final", headers=auth_headers(f.client, "QC Inspector"))
    assert [i["spk_id"] for i in pending.json()["items"]] == [spk_id]


def test_on_inspection_failed_and_on_batch_released_are_emitted_after_commit(
    factory: Factory, auth_headers
) -> None:
    f = factory
    qc = auth_headers(f.client, "QC Inspector")
    body = {
        "checkpoint": "after_finishing",
        "batch_number": "B-9",
        "inspected_qty": "20",
        "pass_qty": "18",
        "scrap_qty": "2",
        "defects": [{"category_id": f.categories["AS-EYE"], "quantity": "2"}],
    }
    assert f.client.post(f"{API}/inspection/inline", json=body, headers=qc).status_code == 201
    # A refused request emits nothing.
    assert (
        f.client.post(f"{API}/inspection/inline", json={**body, "pass_qty": "1"}, headers=qc).status_code
        == 422
    )
    lab = auth_headers(f.client, "QC Lab")
    test = {"batch_number": "B-9", "test_type_id": f.test_types["SEAM"], "measured_value": "95"}
    assert f.client.post(f"{API}/lab/test", json=test, headers=lab).status_code == 201
    assert f.client.post(f"{API}/lab/results/B-9/release", json={}, headers=lab).status_code == 200
    with f.site.sessions() as s:
        events = dict(s.execute(select(OutboxEvent.name, OutboxEvent.payload)).tuples().all())
    assert events["inspection_failed"]["severity"] == "critical"  # AS-EYE is a critical defect
    assert events["inspection_failed"]["reason"] == "critical_defect"
    assert events["inspection_failed"]["department"] == "Finishing"
    assert events["batch_released"] == {
        "batch_number": "B-9",
        "pass_rate": "100.00",
        "tests": 1,
        "released_by": events["batch_released"]["released_by"],
    }


def recorded_events(site: Any) -> list[dict[str, Any]]:
    with site.sessions() as s:
        rows = s.execute(
            select(OutboxEvent.payload, OutboxEvent.aggregate)
            .where(OutboxEvent.name == "inspection_recorded")
            .order_by(OutboxEvent.payload["inspection_id"].as_integer())
        ).all()
    assert all(aggregate == f"inspection:{p['inspection_id']}" for p, aggregate in rows)
    return [p for p, _ in rows]


def test_on_inspection_recorded_is_emitted_for_passing_and_failing_inspections_not_refused_ones(
    factory: Factory, auth_headers
) -> None:
    f = factory
    qc = auth_headers(f.client, "QC Inspector")
    started = utcnow()
    back_dated = (started - timedelta(hours=2)).replace(microsecond=0)
    passing = {
        "checkpoint": "after_sewing",
        "batch_number": "B-1",
        "product_id": f.products["BEAR-SEWN"],
        "inspected_qty": "20",
        "pass_qty": "18.5",
        "rework_qty": "1.5",
        "defects": [{"category_id": f.categories["ST-OPEN"], "quantity": "1.5"}],
        "inspected_at": back_dated.isoformat(),
    }
    r = f.client.post(f"{API}/inspection/inline", json=passing, headers=qc)
    assert r.status_code == 201, r.text
    passed_id = r.json()["id"]
    assert r.json()["status"] == "passed"
    # Refused (arithmetic, unknown category): nothing recorded, nothing emitted.
    for bad in ({"pass_qty": "1"}, {"defects": [{"category_id": 999999, "quantity": "1"}]}):
        assert (
            f.client.post(f"{API}/inspection/inline", json={**passing, **bad}, headers=qc).status_code == 422
        )
    failing = {
        "checkpoint": "after_finishing",
        "batch_number": "B-2",
        "inspected_qty": "10",
        "pass_qty": "7",
        "rework_qty": "1",
        "scrap_qty": "2",
    }
    r = f.client.post(f"{API}/inspection/inline", json=failing, headers=qc)
    assert r.status_code == 201 and r.json()["status"] == "failed"
    failed_id = r.json()["id"]

    # A final inspection: created pending (not recorded yet), refused once, completed, refused again.
    spk_id = make_spk(f.site, product_id=f.products["BEAR-DOLL"], store_id=f.locations["STORE-PACKING"])
    with unit_of_work(f.site.sessions) as s:
        final_id = create_final_inspection(
            s, spk_id=spk_id, department="Packing", quantity=Decimal(50), batch_number="B-3"
        ).id
    assert [e["inspection_id"] for e in recorded_events(f.site)] == [passed_id, failed_id]
    final = {"spk_id": spk_id, "inspected_qty": "50", "pass_qty": "50"}
    too_many = {**final, "inspected_qty": "51", "pass_qty": "51"}
    assert f.client.post(f"{API}/inspection/final", json=too_many, headers=qc).status_code == 422
    assert f.client.post(f"{API}/inspection/final", json=final, headers=qc).status_code == 200
    assert f.client.post(f"{API}/inspection/final", json=final, headers=qc).status_code == 409
    finished = utcnow()

    events = recorded_events(f.site)
    assert [e["inspection_id"] for e in events] == [passed_id, failed_id, final_id]
    for event in events:
        recorded_at = InspectionRecorded.model_validate(event).recorded_at
        assert started <= recorded_at <= finished
    assert InspectionRecorded.model_validate(events[0]).inspected_at == back_dated  # back-dated
    assert InspectionRecorded.model_validate(events[2]).inspected_at > started  # defaults to now
    assert {k: v for k, v in events[0].items() if k not in ("recorded_at", "inspected_at")} == {
        "inspection_id": passed_id,
        "kind": "inline",
        "checkpoint": "after_sewing",
        "status": "passed",
        "department": "Sewing",
        "spk_id": None,
        "batch_number": "B-1",
        "product_id": f.products["BEAR-SEWN"],
        "inspected": "20",
        "passed": "18.5",
        "rework": "1.5",
        "scrap": "0",
    }
    assert {
        k: events[1][k] for k in ("kind", "status", "department", "inspected", "passed", "rework", "scrap")
    } == {
        "kind": "inline",
        "status": "failed",
        "department": "Finishing",
        "inspected": "10",
        "passed": "7",
        "rework": "1",
        "scrap": "2",
    }
    assert {
        k: events[2][k] for k in ("kind", "checkpoint", "status", "spk_id", "batch_number", "passed")
    } == {
        "kind": "final",
        "checkpoint": "final",
        "status": "passed",
        "spk_id": spk_id,
        "batch_number": "B-3",
        "passed": "50",
    }
    # The failing one raised inspection_failed as well, the passing ones did not.
    with f.site.sessions() as s:
        failed_events = s.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.name == "inspection_failed")
        ).all()
    assert [e["inspection_id"] for e in failed_events] == [failed_id]


@pytest.mark.slow
def test_on_spk_completed_exactly_once_per_spk_with_real_workers_killed(
    make_site, event_worker, broker_namespace: str, redis_url: str
) -> None:
    site = make_site(
        PLUGINS,
        broker="redis",
        broker_url=redis_url,
        broker_namespace=broker_namespace,
        events_max_attempts=20,
        events_backoff_base=0.05,
        events_backoff_max=0.2,
        events_time_limit=5.0,
        events_lease_margin=1.0,
        events_redeliver_after=3.0,
    )
    data = make_factory_data(site)
    spks = [
        make_spk(site, product_id=data["products"]["BEAR-DOLL"], store_id=data["locations"]["STORE-PACKING"])
        for _ in range(40)
    ]
    worker = event_worker(site.settings, processes=2, threads=4)
    wait_until(lambda: len(worker.worker_pids()) == 2, timeout=30)

    def handled() -> int:
        with site.sessions() as s:
            return s.scalar(select(func.count(Inspection.id)).where(Inspection.kind == "final")) or 0

    killed = []
    for i, spk_id in enumerate(spks):
        complete_spk(site, spk_id)
        if i in (10, 25):
            killed.append(worker.kill_worker())  # while earlier completions are being handled
    wait_until(lambda: handled() == 40, timeout=90, interval=0.2)
    wait_until(lambda: len(worker.worker_pids()) == 2, timeout=30)
    assert len(killed) == 2
    inspections = final_inspections(site)
    assert sorted(i.spk_id for i in inspections) == sorted(spks)  # exactly one per SPK
    assert all(i.status == "pending" for i in inspections)
    worker.stop()
