"""The dashboard WebSocket across processes: a client connected to one `erp serve` receives the update
caused by a daily input posted through another `erp serve`, via a real `erp worker` and Redis pub/sub."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from ppic_live_testkit import Plant
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from kernel.testing import create_test_user, settings_env
from tests.ops.helpers import erp_serve

API = "/api/v1/ppic"


def sign_in(base: str, site: Any, role: str, department: str | None = None) -> str:
    user, password = create_test_user(site, role, department)
    resp = httpx.post(f"{base}/api/v1/auth/login", json={"username": user.username, "password": password})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def cutting_good_today(message: dict[str, Any]) -> Decimal:
    rows = [d for d in message["data"]["departments"] if d["department"] == "Cutting"]
    return Decimal(rows[0]["good_today"]) if rows else Decimal(0)


def test_dashboard_push_reaches_a_client_of_another_api_process(
    redis_plant: Plant, event_worker: Any, tmp_path: Path
) -> None:
    f = redis_plant
    f.stock_in("FAB", "CUTTING", "100")
    cut, *_ = f.release(batch="WS-1")
    env = settings_env(f.site.settings)
    worker = event_worker(f.site.settings, processes=1, threads=2)
    with erp_serve(env, cwd=tmp_path) as (base_a, _), erp_serve(env, cwd=tmp_path) as (base_b, _):
        viewer = sign_in(base_a, f.site, "PPIC Manager")
        writer = sign_in(base_b, f.site, "Admin Cutting", "Cutting")
        ws_url = base_a.replace("http", "ws") + "/ws/ppic/dashboard"
        with connect(ws_url, subprotocols=["bearer", viewer], open_timeout=10) as ws:  # type: ignore[list-item]
            first = json.loads(ws.recv(timeout=10))
            assert first["type"] == "dashboard" and cutting_good_today(first) == 0
            assert first["data"]["mos_by_state"]["released"] == 1
            time.sleep(0.5)  # the hub's subscription is in place
            today = first["data"]["today"]
            posted = time.monotonic()
            r = httpx.post(
                f"{base_b}/api/v1/production/spk/{cut.id}/daily-input",
                json={"work_date": today, "good": "12.5", "defect": "1"},
                headers={"Authorization": f"Bearer {writer}"},
            )
            assert r.status_code == 201, r.text
            deadline = time.monotonic() + 30  # generous: the test proves arrival, not speed
            pushed = None
            while time.monotonic() < deadline:
                message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if cutting_good_today(message) == Decimal("12.5"):
                    pushed = message
                    break
            latency = time.monotonic() - posted
            assert pushed is not None, worker.log_tail()
            print(f"dashboard push latency after the daily input's 201: {latency * 1000:.0f} ms")
            cutting = next(d for d in pushed["data"]["departments"] if d["department"] == "Cutting")
            assert Decimal(cutting["defect_today"]) == 1 and cutting["spks_in_progress"] == 1
            assert pushed["data"]["mos_by_state"] == {
                **first["data"]["mos_by_state"],
                "released": 0,
                "in_progress": 1,
            }
            # The same figures as a plain GET through the other process.
            got = httpx.get(
                f"{base_b}{API}/dashboard/real-time", headers={"Authorization": f"Bearer {viewer}"}
            )
            assert got.json()["departments"] == pushed["data"]["departments"]

        # Without the permission (or a token) the socket is refused.
        qc = sign_in(base_a, f.site, "QC Inspector")
        for protocols in (["bearer", qc], None):
            with pytest.raises(InvalidStatus):
                connect(ws_url, subprotocols=protocols, open_timeout=10)  # type: ignore[arg-type]


def test_dashboard_push_on_the_embedded_default_without_redis(make_site: Any) -> None:
    from fastapi.testclient import TestClient
    from ppic_live_testkit import PLUGINS, make_plant

    from kernel.app import create_app
    from kernel.realtime import InProcessBroadcaster, get_broadcaster
    from kernel.testing import login_headers

    f = make_plant(make_site(PLUGINS, redis_url=None))
    f.stock_in("FAB", "CUTTING", "100")
    cut, *_ = f.release(batch="WS-2")
    app = create_app(f.site.settings, site=f.site)
    assert isinstance(get_broadcaster(f.site), InProcessBroadcaster)
    with TestClient(app) as client:
        user, password = create_test_user(f.site, "Security")
        token = login_headers(client, user.username, password)["Authorization"].split()[1]
        writer, password = create_test_user(f.site, "SPV Cutting", "Cutting")
        writer_headers = login_headers(client, writer.username, password)
        with client.websocket_connect("/ws/ppic/dashboard", subprotocols=["bearer", token]) as ws:
            first = ws.receive_json()
            assert cutting_good_today(first) == 0
            time.sleep(0.3)
            posted = time.monotonic()
            r = client.post(
                f"/api/v1/production/spk/{cut.id}/daily-input",
                json={"work_date": first["data"]["today"], "good": "7"},
                headers=writer_headers,
            )
            assert r.status_code == 201, r.text
            for _ in range(20):  # the embedded relay and worker deliver the event, the hub recomputes
                message = ws.receive_json()
                if cutting_good_today(message) == 7:
                    break
            assert cutting_good_today(message) == 7
            # Pushed by the event, not by the 60-second refresh (generous bound, not a speed test).
            assert time.monotonic() - posted < 30
            # A critical QC failure: its alert is part of the next push.
            inspection = f.inspect(
                checkpoint="after_cutting",
                spk_id=cut.id,
                inspected="7",
                passed="6",
                rework="1",
                defects=[{"category_id": f.categories["AS-EYE"], "quantity": "1"}],  # type: ignore[index]
            )
            for _ in range(20):
                message = ws.receive_json()
                if message["data"]["alerts"]["critical"]:
                    break
            [critical] = message["data"]["alerts"]["critical"]
            assert critical["type"] == "qc_fail" and critical["status"] == "pending"
            assert message["data"]["alerts"]["by_severity"]["critical"] == 1
            assert message["data"]["qc"]["today"]["failed"] == 1
            with f.session() as s:
                from erp_ppic.models_live import Alert

                assert s.get(Alert, critical["id"]).key == f"inspection:{inspection}"  # type: ignore[union-attr]


def qc_today(message: dict[str, Any]) -> dict[str, Any]:
    return dict(message["data"]["qc"]["today"])


def test_a_passing_inspection_pushes_the_dashboard_through_on_inspection_recorded(make_site: Any) -> None:
    """A passing inspection emits no ``inspection_failed``; its ``inspection_recorded`` event alone must
    push the new QC figures. The periodic refresh is set to 30 s and every message is checked to come
    before it could fire, so the push can only come from the event."""
    from fastapi.testclient import TestClient
    from ppic_live_testkit import PLUGINS, make_plant

    from kernel.app import create_app
    from kernel.events.models import EventDelivery, OutboxEvent
    from kernel.testing import drain_events, login_headers

    refresh = 30.0
    site = make_site(PLUGINS, redis_url=None, plugin={"ppic": {"dashboard_refresh_seconds": refresh}})
    f = make_plant(site)
    drain_events(f.site)  # nothing from the set-up is left to push
    app = create_app(f.site.settings, site=f.site)
    with TestClient(app) as client:
        user, password = create_test_user(f.site, "PPIC Manager")
        token = login_headers(client, user.username, password)["Authorization"].split()[1]
        joined = time.monotonic()
        with client.websocket_connect("/ws/ppic/dashboard", subprotocols=["bearer", token]) as ws:
            first = ws.receive_json()
            assert qc_today(first)["inspections"] == 0 and qc_today(first)["pass_rate"] is None
            time.sleep(0.3)  # the hub's subscription is in place
            inspection = f.inspect(checkpoint="after_cutting", inspected="20", passed="19", rework="1")
            while True:  # the embedded relay and worker deliver the event, the hub recomputes
                message = ws.receive_json()
                assert time.monotonic() - joined < refresh, "no push before the periodic refresh"
                if qc_today(message)["inspections"] == 1:
                    break
    qc = qc_today(message)
    assert (qc["inspections"], qc["failed"], qc["pass_rate"]) == (1, 0, "100.00")
    units = [Decimal(qc[k]) for k in ("inspected", "passed", "rework", "scrap")]
    assert units == [20, 19, 1, 0]
    assert message["data"]["qc"]["week"]["inspections"] == 1
    with f.session() as s:  # PPIC handled quality's event (there was no inspection_failed to handle)
        from sqlalchemy import select

        handled = s.execute(
            select(OutboxEvent.name, OutboxEvent.payload["inspection_id"].as_integer(), EventDelivery.status)
            .join(EventDelivery, EventDelivery.event_id == OutboxEvent.id)
            .where(EventDelivery.plugin == "ppic", OutboxEvent.name.like("inspection_%"))
        ).all()
    assert [tuple(row) for row in handled] == [("inspection_recorded", inspection, "delivered")]


def test_on_inspection_recorded_publishes_a_dashboard_change(make_site: Any, monkeypatch: Any) -> None:
    """The handler itself, run by ``drain_events``: one message on the dashboard channel, after its
    transaction committed, whose recomputed figures include the passing inspection."""
    from erp_ppic.dashboard import CHANNEL, compute_dashboard
    from ppic_live_testkit import PLUGINS, make_plant

    from kernel.realtime import get_broadcaster
    from kernel.testing import drain_events

    f = make_plant(make_site(PLUGINS, redis_url=None))
    drain_events(f.site)
    published: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(get_broadcaster(f.site), "publish", lambda ch, msg: published.append((ch, msg)))
    f.inspect(checkpoint="after_sewing", inspected="8", passed="8")
    assert published == []  # nothing before the event is handled
    drain_events(f.site)
    assert [(ch, msg["reason"]) for ch, msg in published] == [(CHANNEL, "inspection_recorded")]
    with f.session() as s:
        qc = compute_dashboard(s)["qc"]["today"]
    assert (qc["inspections"], qc["failed"], qc["inspected"], qc["pass_rate"]) == (1, 0, 8, 100)
