"""The principal cache: hits on repeated requests, and every change through the app seen at once by
every worker (two apps here, sharing PostgreSQL and Redis like two `erp serve` workers)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import delete

from kernel.auth.models import UserRole
from kernel.db import unit_of_work
from kernel.testing import create_test_user, login_headers
from tests.ops.helpers import value

LOCAL = ("127.0.0.1", 50000)  # a scrape address, so /metrics answers without a token


def _worker(make_app, **overrides) -> TestClient:
    client = TestClient(make_app(["example"], **overrides), client=LOCAL, raise_server_exceptions=False)
    client.__enter__()
    return client


def _hits(client: TestClient, result: str) -> float:
    text = client.get("/metrics").text
    return value(text, "erp_cache_requests_total", cache="principals", result=result)


def _note(client: TestClient, headers: dict[str, str]) -> int:
    return client.post("/api/v1/example/notes", json={"text": "n"}, headers=headers).status_code


def test_repeated_requests_are_served_from_the_cache(make_app) -> None:
    worker = _worker(make_app)
    user, password = create_test_user(worker.app.state.site, "Warehouse Admin")
    headers = login_headers(worker, user.username, password)
    assert _note(worker, headers) == 201
    hits, misses = _hits(worker, "hit"), _hits(worker, "miss")
    for _ in range(5):
        assert _note(worker, headers) == 201
    assert _hits(worker, "hit") - hits == 5
    assert _hits(worker, "miss") == misses


def test_grant_revocation_reaches_every_worker_at_once(make_app) -> None:
    worker_a, worker_b = _worker(make_app), _worker(make_app)
    site = worker_a.app.state.site
    admin, admin_pw = create_test_user(site, "Superadmin")
    clerk, clerk_pw = create_test_user(site, "Warehouse Admin")
    admin_headers = login_headers(worker_a, admin.username, admin_pw)
    clerk_headers = login_headers(worker_b, clerk.username, clerk_pw)
    assert _note(worker_b, clerk_headers) == 201  # now cached in worker B

    roles = worker_a.get("/api/v1/roles", headers=admin_headers).json()["items"]
    granted = next(r["permissions"] for r in roles if r["name"] == "Warehouse Admin")
    kept = [p for p in granted if p != "example.notes.create"]
    resp = worker_a.put(
        "/api/v1/roles/Warehouse Admin/permissions", json={"permissions": kept}, headers=admin_headers
    )
    assert resp.status_code == 200, resp.text
    assert _note(worker_b, clerk_headers) == 403

    resp = worker_a.put(
        "/api/v1/roles/Warehouse Admin/permissions", json={"permissions": granted}, headers=admin_headers
    )
    assert resp.status_code == 200, resp.text
    assert _note(worker_b, clerk_headers) == 201


def test_role_change_and_deactivation_reach_every_worker_at_once(make_app) -> None:
    worker_a, worker_b = _worker(make_app), _worker(make_app)
    site = worker_a.app.state.site
    admin, admin_pw = create_test_user(site, "Superadmin")
    clerk, clerk_pw = create_test_user(site, "Warehouse Admin")
    admin_headers = login_headers(worker_a, admin.username, admin_pw)
    clerk_headers = login_headers(worker_b, clerk.username, clerk_pw)
    assert _note(worker_b, clerk_headers) == 201

    resp = worker_a.patch(f"/api/v1/users/{clerk.id}", json={"roles": ["Security"]}, headers=admin_headers)
    assert resp.status_code == 200, resp.text
    assert _note(worker_b, clerk_headers) == 403

    resp = worker_a.patch(
        f"/api/v1/users/{clerk.id}", json={"roles": ["Warehouse Admin"]}, headers=admin_headers
    )
    assert resp.status_code == 200, resp.text
    assert _note(worker_b, clerk_headers) == 201

    assert worker_a.post(f"/api/v1/users/{clerk.id}/deactivate", headers=admin_headers).status_code == 200
    assert _note(worker_b, clerk_headers) == 401


def test_an_edit_past_the_application_is_seen_within_the_ttl(make_app) -> None:
    # SQL typed by hand does not bump the epoch; the cache's age limit bounds how long it lingers.
    worker = _worker(make_app, principal_cache_seconds=0.5)
    site = worker.app.state.site
    clerk, clerk_pw = create_test_user(site, "Warehouse Admin")
    headers = login_headers(worker, clerk.username, clerk_pw)
    assert _note(worker, headers) == 201
    with unit_of_work(site.sessions) as session:
        session.execute(delete(UserRole).where(UserRole.user_id == clerk.id))
    assert _note(worker, headers) == 201  # still the cached principal: proves the cache is in use
    time.sleep(0.6)
    assert _note(worker, headers) == 403


def test_no_cache_when_disabled(make_app) -> None:
    worker = _worker(make_app, principal_cache_seconds=0)
    site = worker.app.state.site
    clerk, clerk_pw = create_test_user(site, "Warehouse Admin")
    headers = login_headers(worker, clerk.username, clerk_pw)
    assert _note(worker, headers) == 201
    with unit_of_work(site.sessions) as session:
        session.execute(delete(UserRole).where(UserRole.user_id == clerk.id))
    assert _note(worker, headers) == 403
