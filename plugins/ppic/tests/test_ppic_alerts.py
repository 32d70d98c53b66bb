"""Alerts: raised by a real worker from other plugins' events, escalated by the periodic job after the
configured delays, acknowledged and resolved through the API (409 on bad transitions), audited."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from erp_ppic import plugin as ppic_plugin
from erp_ppic.alerts import escalation_job, raise_alert
from erp_ppic.models_live import Alert
from erp_quality.events import InspectionFailed
from erp_warehouse.transfers import send_transfer
from fastapi.testclient import TestClient
from ppic_live_testkit import PLUGINS, Plant, make_plant
from sqlalchemy import func, select

from kernel.app import create_app
from kernel.audit.models import AuditLog
from kernel.clock import utcnow
from kernel.errors import Conflict
from kernel.events.declare import EventEnvelope
from kernel.events.models import OutboxEvent
from kernel.testing import drain_events, login_headers, wait_until

API = "/api/v1/ppic"
D = Decimal


def alerts(plant: Plant) -> list[Alert]:
    with plant.session() as s:
        rows = list(s.scalars(select(Alert).order_by(Alert.id)))
        s.expunge_all()
    return rows


def test_alerts_from_on_inspection_failed_on_stock_moved_on_transfer_blocked_by_a_real_worker(
    redis_plant: Plant, event_worker: Any
) -> None:
    f = redis_plant
    op = f.user("Admin Cutting", "Cutting").username
    today = utcnow().date()
    f.stock_in("FAB", "CUTTING", "10")  # 40 good need 22 m: 12 m short -> material debt
    f.stock_in("TEDDY", "PACKING", "10")
    f.stock_in("WIP-SKIN", "CUTTING", "5")
    cut, *_ = f.release(batch="AL-1")
    f.daily_input(cut.id, today, "40", user=op)
    scrap = f.inspect(checkpoint="after_cutting", spk_id=cut.id, inspected="40", passed="35", scrap="5")
    eye = f.inspect(
        checkpoint="after_cutting",
        spk_id=cut.id,
        inspected="10",
        passed="9",
        rework="1",
        defects=[{"category_id": f.categories["AS-EYE"], "quantity": "1"}],  # type: ignore[index]
    )
    metal = f.inspect(
        checkpoint="pre_packing",
        inspected="10",
        passed="9",
        scrap="1",
        metal={"checked_qty": "10", "failed_qty": "1"},
        location="PACKING",
    )
    with f.session() as s:  # WIP for Embroidery sits in its store, unaccepted ...
        from erp_production.spk import deliver_wip

        deliver_wip(s, hooks=f.hooks, spk_id=cut.id, quantity=D(10), user=op)
    with (
        pytest.raises(Conflict, match="line clearance"),
        f.session() as s,
    ):  # ... so another article is refused
        send_transfer(
            s,
            hooks=f.hooks,
            product_id=f.products["WIP-SKIN"],
            from_location_id=f.locations["CUTTING"],
            to_location_id=f.locations["EMBROIDERY"],
            quantity=D(5),
            reference="SPK-OTHER",
            user=op,
        )
    assert alerts(f) == []  # nothing is handled inline: the worker does it

    worker = event_worker(f.site.settings, processes=1, threads=2)
    found = wait_until(lambda: len(alerts(f)) >= 5 and alerts(f), timeout=60)
    assert len(found) == 5, worker.log_tail()
    by_key = {a.key: a for a in found}
    assert {a.status for a in found} == {"pending"}
    assert {a.escalation_level for a in found} == {"first_line"}
    qc = by_key[f"inspection:{scrap}"]
    assert (qc.type, qc.severity, qc.department, qc.subject) == (
        "qc_fail",
        "warning",
        "Cutting",
        f"inspection:{scrap}",
    )
    assert "scrap, 5" in qc.title
    critical = by_key[f"inspection:{eye}"]
    assert (critical.type, critical.severity) == ("qc_fail", "critical")
    detector = by_key[f"inspection:{metal}"]
    assert (detector.type, detector.severity, detector.department) == (
        "metal_detector",
        "critical",
        "Packing",
    )
    shortage = next(a for a in found if a.type == "shortage")
    assert shortage.subject == f"shortage:{f.products['FAB']}@{f.locations['CUTTING']}"
    assert (shortage.severity, shortage.department) == ("warning", "Cutting")
    assert D(shortage.details["shortfall"]) == D(12) and shortage.details["reference"] == cut.number
    assert "material debt" in shortage.title
    blocked = next(a for a in found if a.type == "line_clearance_block")
    assert blocked.subject == f"line:{f.locations['EMBROIDERY']}" and blocked.department == "Embroidery"
    assert (
        blocked.details["reference"] == "SPK-OTHER"
        and blocked.details["blocking_product_id"] == (f.products["WIP-CUT"])
    )

    # Redelivered to the handler (as if the inbox had not caught it): still one alert per inspection.
    with f.session() as s:
        stored = s.scalar(
            select(OutboxEvent).where(
                OutboxEvent.name == "inspection_failed",
                OutboxEvent.payload["inspection_id"].as_integer() == eye,
            )
        )
        assert stored is not None
        envelope = EventEnvelope(
            id=stored.id,
            name=stored.name,
            version=stored.version,
            payload=InspectionFailed.model_validate(stored.payload),
            aggregate=stored.aggregate,
            emitted_at=stored.emitted_at,
            request_id=None,
            attempt=2,
        )
        ppic_plugin.on_inspection_failed(s, envelope)
    assert len(alerts(f)) == 5
    # A second shortage of the same product at the same store while the first is open: no new alert.
    f.daily_input(cut.id, today - timedelta(days=1), "10", user=op)
    drain_events(f.site)
    assert len([a for a in alerts(f) if a.type == "shortage"]) == 1


@pytest.fixture
def escalating(make_site: Any) -> Plant:
    """A plant whose critical alerts reach the manager after 10 minutes and the director after 30."""
    site = make_site(
        PLUGINS,
        plugin={
            "ppic": {"escalation": {"critical": {"manager_after_minutes": 10, "director_after_minutes": 30}}}
        },
    )
    return make_plant(site)


def test_escalation_job_follows_the_configured_delays_and_stops_at_acknowledgement(escalating: Plant) -> None:
    f = escalating
    t0 = utcnow()
    with f.session() as s:
        for n, severity in enumerate(("critical", "critical", "warning", "info")):
            raise_alert(
                s,
                key=f"test:{n}",
                type="qc_fail",
                severity=severity,
                subject=f"test:{n}",
                title=f"alert {n}",
                raised_at=t0,
            )
    crit, crit_acked, warn, info = (a.id for a in alerts(f))

    def levels() -> dict[int, str]:
        return {a.id: a.escalation_level for a in alerts(f)}

    def run(minutes: float) -> None:
        with f.session() as s:
            escalation_job(s, t0 + timedelta(minutes=minutes))

    run(9.9)
    assert set(levels().values()) == {"first_line"}
    run(10)
    assert levels() == {crit: "manager", crit_acked: "manager", warn: "first_line", info: "first_line"}
    with f.session() as s:
        from erp_ppic.alerts import acknowledge

        acknowledge(s, alert_id=crit_acked, user="spv")
    run(10)  # the same period again changes nothing
    run(30)
    assert levels() == {crit: "director", crit_acked: "manager", warn: "first_line", info: "first_line"}
    run(120)  # warning: default 120 minutes to the manager, 480 to the director
    assert levels()[warn] == "manager"
    run(10_000)  # info never escalates
    assert levels() == {crit: "director", crit_acked: "manager", warn: "director", info: "first_line"}
    with f.session() as s:
        trail = [
            (int(e.entity_id or 0), e.action, json.loads(e.new or "null")["escalation_level"])
            for e in s.scalars(
                select(AuditLog).where(AuditLog.entity_type == "ppic.alert", AuditLog.action == "escalate")
            )
        ]
    assert sorted((i, new) for i, _, new in trail) == sorted(
        [
            (crit, "manager"),
            (crit, "director"),
            (crit_acked, "manager"),
            (warn, "manager"),
            (warn, "director"),
        ]
    )


def test_late_spk_alerts_are_raised_once_by_the_periodic_job(plant: Plant) -> None:
    f = plant
    today = utcnow().date()
    spks = f.release(batch="LATE-1", planned_end=today + timedelta(days=3))
    f.start(spks[0].id)
    f.complete(spks[0].id)  # a completed SPK is never late
    later = utcnow() + timedelta(days=5)
    with f.session() as s:
        escalation_job(s, later)
    late = [a for a in alerts(f) if a.type == "late_spk"]
    assert sorted(a.subject for a in late) == sorted(f"spk:{x.id}" for x in spks[1:])
    assert {a.details["due"] for a in late} == {(today + timedelta(days=3)).isoformat()}
    with f.session() as s:
        escalation_job(s, later + timedelta(minutes=1))
    assert len([a for a in alerts(f) if a.type == "late_spk"]) == 4
    with f.session() as s:  # on the due date itself nothing is late yet
        escalation_job(s, utcnow() + timedelta(days=3))
        assert s.scalar(select(func.count()).select_from(Alert)) == 4


def test_acknowledge_resolve_state_machine_scoping_and_audit(plant: Plant) -> None:
    f = plant
    with f.session() as s:
        cutting = raise_alert(
            s, key="k:1", type="qc_fail", severity="critical", subject="s:1", title="t", department="Cutting"
        )
        sewing = raise_alert(
            s, key="k:2", type="qc_fail", severity="warning", subject="s:2", title="t", department="sewing"
        )
        assert cutting is not None and sewing is not None
        ids = cutting.id, sewing.id
        assert raise_alert(s, key="k:3", type="qc_fail", severity="info", subject="s:1", title="t") is None
    cut_id, sew_id = ids
    client = TestClient(create_app(f.site.settings, site=f.site))
    with client:

        def as_role(role: str, department: str | None = None) -> dict[str, str]:
            from kernel.testing import create_test_user

            user, password = create_test_user(f.site, role, department)
            return login_headers(client, user.username, password)

        spv = as_role("SPV Cutting", "Cutting")
        manager = as_role("Manager")
        listed = client.get(f"{API}/alerts", headers=spv).json()
        assert [a["id"] for a in listed["items"]] == [cut_id] and listed["total"] == 1
        everything = client.get(f"{API}/alerts", headers=manager, params={"open": "true"}).json()
        assert {a["id"] for a in everything["items"]} == {cut_id, sew_id}
        assert everything["items"][0]["department"] in ("Cutting", "Sewing")
        assert client.get(f"{API}/alerts/{sew_id}", headers=spv).status_code == 404
        assert client.post(f"{API}/alerts/{sew_id}/acknowledge", headers=spv).status_code == 404
        admin = as_role("Admin Cutting", "Cutting")
        assert client.post(f"{API}/alerts/{cut_id}/acknowledge", headers=admin).status_code == 403

        body = {"resolution": "line stopped, eyes re-fixed"}
        r = client.post(f"{API}/alerts/{cut_id}/resolve", headers=spv, json=body)
        assert r.status_code == 409 and "acknowledge it first" in r.text
        r = client.post(f"{API}/alerts/{cut_id}/acknowledge", headers=spv)
        assert r.status_code == 200 and r.json()["status"] == "acknowledged"
        assert r.json()["acknowledged_by"] is not None
        assert client.post(f"{API}/alerts/{cut_id}/acknowledge", headers=spv).status_code == 409
        assert (
            client.post(f"{API}/alerts/{cut_id}/resolve", headers=spv, json={"resolution": " "}).status_code
            == 422
        )
        r = client.post(f"{API}/alerts/{cut_id}/resolve", headers=spv, json=body)
        assert r.status_code == 200 and r.json()["status"] == "resolved"
        assert r.json()["resolution"] == body["resolution"]
        assert client.post(f"{API}/alerts/{cut_id}/resolve", headers=spv, json=body).status_code == 409
        assert client.post(f"{API}/alerts/{cut_id}/acknowledge", headers=spv).status_code == 409
        assert client.get(f"{API}/alerts/999999", headers=manager).status_code == 404
        resolved = client.get(f"{API}/alerts", headers=manager, params={"status": "resolved"}).json()
        assert [a["id"] for a in resolved["items"]] == [cut_id]
    with f.session() as s:
        trail = [
            e.action
            for e in s.scalars(
                select(AuditLog)
                .where(AuditLog.entity_type == "ppic.alert", AuditLog.entity_id == str(cut_id))
                .order_by(AuditLog.id)
            )
        ]
        # A resolved subject takes a new alert again.
        assert (
            raise_alert(s, key="k:4", type="qc_fail", severity="info", subject="s:1", title="t") is not None
        )
    assert trail == ["raise", "acknowledge", "resolve"]


def test_erp_ppic_alerts_open_gauge_counts_open_alerts_by_severity_and_level(plant: Plant) -> None:
    from kernel.metrics.exposition import render
    from tests.ops.helpers import value

    f = plant
    t0 = utcnow() - timedelta(hours=1)
    with f.session() as s:
        ids = []
        for n, severity in enumerate(("critical", "critical", "warning", "info")):
            alert = raise_alert(
                s, key=f"m:{n}", type="qc_fail", severity=severity, subject=f"m:{n}", title="t", raised_at=t0
            )
            assert alert is not None
            ids.append(alert.id)
        escalation_job(s, utcnow())  # both critical ones reach the director after an hour
        from erp_ppic.alerts import acknowledge, resolve

        acknowledge(s, alert_id=ids[1], user="spv")
        resolve(s, alert_id=ids[1], user="spv", resolution="done")
    scrape = render(f.site).decode()
    assert value(scrape, "erp_ppic_alerts_open", severity="critical", escalation_level="director") == 1
    assert value(scrape, "erp_ppic_alerts_open", severity="warning", escalation_level="first_line") == 1
    assert value(scrape, "erp_ppic_alerts_open", severity="info") == 1
    assert value(scrape, "erp_ppic_alerts_open") == 3
