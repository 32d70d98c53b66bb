"""The audit trail: what gets recorded, the append-only trigger, tamper detection and concurrency."""

from __future__ import annotations

import threading
from typing import Annotated

import pytest
from click.testing import CliRunner
from fastapi import Depends, Response
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from kernel.audit import record_change
from kernel.audit.chain import AuditEntry, append, verify
from kernel.audit.models import AuditLog
from kernel.cli import cli
from kernel.db import unit_of_work
from kernel.deps import SessionDep
from kernel.rbac import Principal, require
from kernel.testing import create_test_user, login_headers


def _rows(site, **where) -> list[AuditLog]:
    with site.sessions() as session:
        stmt = select(AuditLog).order_by(AuditLog.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditLog, key) == value)
        return list(session.scalars(stmt))


def _verify_cli(site) -> tuple[int, str]:
    env = {
        "ERP_DATABASE_URL": site.settings.database_url,
        "ERP_SECRET_KEY": site.settings.secret_key,
        "ERP_PLUGINS": "[]",
        "ERP_DATA_DIR": str(site.settings.data_dir),
        "ERP_REDIS_URL": "",
    }
    result = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    return result.exit_code, result.output


def test_a_mutating_request_records_the_change_and_the_request(make_client, auth_headers) -> None:
    client = make_client(["example"])
    site = client.app.state.site
    headers = auth_headers(client, "Warehouse Admin")
    resp = client.post(
        "/api/v1/example/notes", json={"text": "audited"}, headers={**headers, "X-Request-ID": "rq-1"}
    )
    assert resp.status_code == 201
    rows = _rows(site, request_id="rq-1")
    assert [r.action for r in rows] == ["create", "http.request"]
    change, request = rows
    assert change.entity_type == "example.note" and change.entity_id == str(resp.json()["id"])
    assert change.new == '{"text":"audited"}' and change.roles == '["Warehouse Admin"]'
    assert change.username and change.method == "POST" and change.path == "/api/v1/example/notes"
    assert change.client_address == "testclient"
    assert request.status == 201 and request.user_id == change.user_id
    assert change.chain == request.chain and request.seq == change.seq + 1
    assert request.prev_hash == change.hash


def test_reads_are_not_recorded_but_failed_writes_are(make_client, auth_headers) -> None:
    client = make_client(["example"])
    site = client.app.state.site
    headers = auth_headers(client, "Warehouse Admin")
    client.get("/api/v1/example/notes/1", headers={**headers, "X-Request-ID": "rq-read"})
    assert _rows(site, request_id="rq-read") == []
    client.post("/api/v1/example/notes", json={"text": ""}, headers={**headers, "X-Request-ID": "rq-bad"})
    assert [(r.action, r.status) for r in _rows(site, request_id="rq-bad")] == [("http.request", 422)]


def test_a_refused_request_and_a_status_other_than_declared_are_recorded_as_answered(
    make_client, auth_headers
) -> None:
    # Successful requests write their row inside their own transaction with the route's declared status;
    # a refused one rolls back, and a route answering another status gets a row with the real one.
    client = make_client(["example"])
    site = client.app.state.site

    def odd(
        session: SessionDep, _: Annotated[Principal, Depends(require("example.notes.create"))]
    ) -> Response:
        return Response(status_code=202)

    client.app.add_api_route("/api/v1/example/odd", odd, methods=["POST"], status_code=200)
    headers = auth_headers(client, "Warehouse Admin")
    resp = client.post(
        "/api/v1/example/notes", json={"text": "fail"}, headers={**headers, "X-Request-ID": "rq-409"}
    )
    assert resp.status_code == 409
    assert [(r.action, r.status) for r in _rows(site, request_id="rq-409")] == [("http.request", 409)]
    resp = client.post("/api/v1/example/odd", headers={**headers, "X-Request-ID": "rq-odd"})
    assert resp.status_code == 202
    assert [(r.action, r.status) for r in _rows(site, request_id="rq-odd")] == [
        ("http.request", 200),
        ("http.request", 202),
    ]


def test_login_failure_logout_and_denial_are_recorded(make_client) -> None:
    client = make_client(["example"])
    site = client.app.state.site
    user, password = create_test_user(site, "Security")
    client.post("/api/v1/auth/login", json={"username": user.username, "password": "wrong-password"})
    headers = login_headers(client, user.username, password)
    client.post("/api/v1/example/notes", json={"text": "x"}, headers={**headers, "X-Request-ID": "rq-denied"})
    client.post("/api/v1/auth/logout", headers=headers)
    actions = [r.action for r in _rows(site, username=user.username)]
    assert "auth.login" in actions and "auth.logout" in actions and "auth.denied" in actions
    failed = _rows(site, action="auth.login_failed")
    assert failed and failed[0].detail == f'{{"username":"{user.username}"}}' and failed[0].status == 401
    denied = _rows(site, action="auth.denied")[0]
    assert denied.detail == '{"permission":"example.notes.create"}' and denied.request_id == "rq-denied"


def test_refresh_token_reuse_is_a_security_event(make_client) -> None:
    client = make_client([])
    site = client.app.state.site
    user, password = create_test_user(site, "Security")
    body = client.post("/api/v1/auth/login", json={"username": user.username, "password": password}).json()
    client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    reused = _rows(site, action="auth.refresh_reused")
    assert len(reused) == 1 and reused[0].user_id == user.id


def test_a_rolled_back_change_leaves_no_audit_row(make_site) -> None:
    site = make_site([])
    with pytest.raises(RuntimeError), unit_of_work(site.sessions) as session:
        record_change(session, entity_type="thing", entity_id=1, action="update", old={"a": 1}, new={"a": 2})
        raise RuntimeError("business rule failed")
    assert _rows(site, entity_type="thing") == []
    with unit_of_work(site.sessions) as session:
        record_change(session, entity_type="thing", entity_id=1, action="update", old={"a": 1}, new={"a": 2})
    assert [r.old for r in _rows(site, entity_type="thing")] == ['{"a":1}']


def test_postgres_refuses_update_and_delete_of_audit_rows(make_client, auth_headers) -> None:
    client = make_client([])
    auth_headers(client, "Security")
    site = client.app.state.site
    for statement in ("UPDATE kernel_audit_log SET action = 'nothing'", "DELETE FROM kernel_audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), site.engine.begin() as conn:
            conn.execute(text(statement))
    with pytest.raises(DBAPIError, match="only move forward"), site.engine.begin() as conn:
        conn.execute(text("DELETE FROM kernel_audit_chain"))


def _seed(site, n: int) -> list[AuditLog]:
    for i in range(n):
        with unit_of_work(site.sessions) as session:
            append(
                session,
                [
                    AuditEntry(
                        action="test",
                        request_id="same-request",
                        entity_type="thing",
                        entity_id=str(i),
                        new={"i": i},
                    )
                ],
                chains=4,
            )
    return _rows(site, request_id="same-request")


def _as_superuser(site, statement: str, **params) -> None:
    engine = create_engine(site.settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # bypasses the trigger
        conn.execute(text(statement), params)
    engine.dispose()


def test_editing_an_audit_row_makes_verify_fail_naming_the_row(make_site) -> None:
    site = make_site([])
    rows = _seed(site, 5)
    assert _verify_cli(site) == (0, "audit trail intact: 5 row(s) in 1 chain(s)\n")
    victim = rows[2]
    _as_superuser(site, "UPDATE kernel_audit_log SET new = :new WHERE id = :id", new='{"i":99}', id=victim.id)
    code, output = _verify_cli(site)
    assert code == 1
    assert f"row id {victim.id} (chain {victim.chain}, seq 3): content does not match its hash" in output


def test_deleting_an_audit_row_makes_verify_fail_naming_the_gap(make_site) -> None:
    site = make_site([])
    rows = _seed(site, 5)
    _as_superuser(site, "DELETE FROM kernel_audit_log WHERE id = :id", id=rows[1].id)
    code, output = _verify_cli(site)
    assert code == 1
    assert f"seq 2..2 deleted after row id {rows[0].id}, before row id {rows[2].id}" in output


def test_deleting_the_last_rows_is_caught_by_the_chain_tip(make_site) -> None:
    site = make_site([])
    rows = _seed(site, 3)
    _as_superuser(site, "DELETE FROM kernel_audit_log WHERE id = :id", id=rows[-1].id)
    code, output = _verify_cli(site)
    assert code == 1 and f"rows after row id {rows[1].id} deleted" in output


def test_concurrent_writers_spread_over_chains_and_every_chain_verifies(make_site) -> None:
    site = make_site([])
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(20):
                with unit_of_work(site.sessions) as session:
                    append(
                        session,
                        [AuditEntry(action="test", request_id=f"w{worker}-{i}", new={"i": i})],
                        chains=8,
                    )
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with site.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 160
        assert session.scalar(select(func.count(func.distinct(AuditLog.chain)))) > 1
        assert list(verify(session)) == []


def test_audit_log_api_filters_paginates_and_exports_csv(make_client, auth_headers) -> None:
    client = make_client(["example"])
    headers = auth_headers(client, "Warehouse Admin")
    for text_ in ("one", "two", "three"):
        client.post("/api/v1/example/notes", json={"text": text_}, headers=headers)
    manager = auth_headers(client, "Manager")
    page = client.get(
        "/api/v1/audit/logs", params={"entity_type": "example.note", "limit": 2}, headers=manager
    )
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 3 and len(body["items"]) == 2 and body["items"][0]["new"] == {"text": "three"}
    assert body["items"][0]["roles"] == ["Warehouse Admin"]
    by_action = client.get("/api/v1/audit/logs", params={"action": "auth.login"}, headers=manager).json()
    assert by_action["total"] == 2
    csv = client.get(
        "/api/v1/audit/logs", params={"format": "csv", "entity_type": "example.note"}, headers=manager
    )
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("id,at,action") and len(lines) == 4
    naive = client.get("/api/v1/audit/logs", params={"since": "2026-01-01T00:00:00"}, headers=manager)
    assert naive.status_code == 422
    assert client.get("/api/v1/audit/logs", headers=headers).status_code == 403
