"""``/api/v1/system/events`` as an operator uses it: find the dead letter, read why, fix, redeliver."""

from __future__ import annotations

from erp_example_audit.models import AuditEntry
from sqlalchemy import func, select

from kernel.testing import drain_events
from tests.events.conftest import FAST_RETRIES, PLUGINS, add_rule, remove_rules


def test_dead_letter_is_listed_explained_and_redelivered_once(make_client, auth_headers) -> None:
    client = make_client(PLUGINS, events_embedded_worker=False, **FAST_RETRIES)
    site = client.app.state.site
    writer = auth_headers(client, "Warehouse Admin")
    admin = auth_headers(client, "Admin")
    add_rule(site, "poison", "fail")
    assert client.post("/api/v1/example/notes", json={"text": "poison"}, headers=writer).status_code == 201
    drain_events(site)

    dead = client.get("/api/v1/system/events", params={"status": "dead"}, headers=admin)
    assert dead.status_code == 200, dead.text
    assert dead.json()["total"] == 1
    event_id = dead.json()["items"][0]["id"]
    detail = client.get(f"/api/v1/system/events/{event_id}", headers=admin).json()
    audit = next(d for d in detail["deliveries"] if d["plugin"] == "example_audit")
    assert audit["status"] == "dead" and audit["attempts"] == FAST_RETRIES["events_max_attempts"]
    assert "Traceback" in audit["last_traceback"] and detail["payload"]["text"] == "poison"

    remove_rules(site)  # the fix
    again = client.post(f"/api/v1/system/events/{event_id}/redeliver", headers=admin)
    assert again.status_code == 200
    assert {d["plugin"]: d["status"] for d in again.json()["deliveries"]}["example_audit"] == "pending"
    drain_events(site)
    with site.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1  # handled once
    assert client.post(f"/api/v1/system/events/{event_id}/redeliver", headers=admin).status_code == 409
    assert client.get("/api/v1/system/events", params={"status": "dead"}, headers=admin).json()["total"] == 0


def test_events_api_refuses_bad_input_unknown_ids_and_other_roles(make_client, auth_headers) -> None:
    client = make_client(PLUGINS, events_embedded_worker=False)
    admin = auth_headers(client, "Admin")
    assert client.get("/api/v1/system/events", params={"status": "lost"}, headers=admin).status_code == 422
    assert client.get("/api/v1/system/events", params={"limit": 0}, headers=admin).status_code == 422
    assert client.get("/api/v1/system/events/not-a-uuid", headers=admin).status_code == 422
    unknown = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/api/v1/system/events/{unknown}", headers=admin).status_code == 404
    assert client.post(f"/api/v1/system/events/{unknown}/redeliver", headers=admin).status_code == 404
    operator = auth_headers(client, "Warehouse Operator")
    assert client.get("/api/v1/system/events", headers=operator).status_code == 403
