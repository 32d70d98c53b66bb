"""The app factory: mounting, the one error shape, request ids, health and meta endpoints."""

from __future__ import annotations

from erp_example.models import Note
from erp_example.routes import router
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kernel.deps import SessionDep
from kernel.errors import Conflict
from kernel.rbac import require


def test_example_plugin_route_works_and_is_mounted_under_its_prefix(make_client, auth_headers) -> None:
    client = make_client(["example"])
    client.headers.update(auth_headers(client, "Warehouse Admin"))
    created = client.post("/api/v1/example/notes", json={"text": "first"})
    assert created.status_code == 201, created.text
    note = created.json()
    assert note["text"] == "first"
    assert note["created_at"].endswith(("Z", "+00:00"))
    fetched = client.get(f"/api/v1/example/notes/{note['id']}")
    assert fetched.json() == note


def test_disabled_plugin_disappears_from_the_api_and_openapi(make_client) -> None:
    enabled = make_client(["example"])
    assert "/api/v1/example/notes" in enabled.get("/openapi.json").json()["paths"]
    disabled = make_client([])
    assert disabled.post("/api/v1/example/notes", json={"text": "x"}).status_code == 404
    assert not any(p.startswith("/api/v1/example") for p in disabled.get("/openapi.json").json()["paths"])


def test_validation_errors_are_problem_json_listing_fields(make_client, auth_headers) -> None:
    client = make_client(["example"])
    client.headers.update(auth_headers(client, "Warehouse Admin"))
    resp = client.post("/api/v1/example/notes", json={"text": ""})
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == 422 and body["title"] == "Validation failed"
    assert [e["field"] for e in body["errors"]] == ["text"]
    assert body["request_id"] == resp.headers["x-request-id"]


def test_not_found_and_unknown_route_share_the_problem_shape(make_client, auth_headers) -> None:
    client = make_client(["example"])
    client.headers.update(auth_headers(client, "Warehouse Admin"))
    for path in ("/api/v1/example/notes/999999", "/api/v1/nowhere"):
        resp = client.get(path)
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "application/problem+json"
        assert set(resp.json()) >= {"type", "title", "status", "detail"}


def test_malformed_json_body_is_a_422_not_a_500(make_client, auth_headers) -> None:
    client = make_client(["example"])
    client.headers.update(auth_headers(client, "Warehouse Admin"))
    resp = client.post(
        "/api/v1/example/notes", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"


def test_request_id_is_generated_or_kept_from_the_client(make_client) -> None:
    client = make_client([])
    generated = client.get("/health/live").headers["x-request-id"]
    assert len(generated) == 32
    kept = client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    # A hostile id (header injection, absurd length) is replaced, not echoed.
    hostile = client.get("/health/live", headers={"X-Request-ID": "x" * 300})
    assert hostile.headers["x-request-id"] != "x" * 300


def test_health_ready_checks_database_and_redis(make_client) -> None:
    resp = make_client([]).get("/health/ready")
    assert resp.status_code == 200
    assert resp.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_health_ready_is_503_when_redis_is_unreachable(make_client) -> None:
    resp = make_client([], redis_url="redis://127.0.0.1:1/0").get("/health/ready")
    assert resp.status_code == 503
    assert resp.json()["checks"]["redis"].startswith("error")


def test_meta_plugins_lists_enabled_plugins_in_load_order(make_client, auth_headers) -> None:
    client = make_client(["production", "approval", "warehouse"])
    headers = auth_headers(client, "Security")
    items = client.get("/api/v1/meta/plugins", headers=headers).json()["items"]
    assert [i["name"] for i in items] == ["approval", "warehouse", "production"]
    production = items[-1]
    assert production["requires"] == ["approval", "warehouse"]
    assert production["api_prefix"] == "/api/v1/production"
    assert items[0]["api_prefix"] == "/api/v1/approvals"


def test_unit_of_work_rolls_back_when_the_route_fails(make_app, make_site, auth_headers) -> None:
    """A route that writes and then fails leaves nothing behind."""

    @router.post(
        "/_fail_after_write", include_in_schema=False, dependencies=[Depends(require("example.notes.create"))]
    )
    def fail_after_write(session: SessionDep) -> None:
        session.add(Note(text="half-written"))
        session.flush()
        raise Conflict("refused after writing")

    try:
        app = make_app(["example"])
        with TestClient(app) as client:
            resp = client.post(
                "/api/v1/example/notes/_fail_after_write", headers=auth_headers(client, "Warehouse Admin")
            )
        assert resp.status_code == 409
        with app.state.site.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Note)) == 0
    finally:
        router.routes[:] = [r for r in router.routes if getattr(r, "path", "") != "/notes/_fail_after_write"]


def test_security_headers_on_every_response(make_client) -> None:
    client = make_client([])
    for path in ("/health/live", "/api/v1/nowhere", "/docs"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in headers["content-security-policy"]
