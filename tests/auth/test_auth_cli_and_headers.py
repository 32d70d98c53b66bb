"""`erp users create`, `erp demo` users on the embedded default, CORS and security headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from kernel.app import create_app
from kernel.cli import cli
from kernel.config import ConfigError, load_settings
from kernel.testing import login_headers


def _env(url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "ERP_DATABASE_URL": url,
        "ERP_SECRET_KEY": "s" * 40,
        "ERP_PLUGINS": "[]",
        "ERP_DATA_DIR": str(data_dir),
        "ERP_REDIS_URL": "",
        **extra,
    }


def test_erp_users_create_makes_the_first_administrator(make_site, tmp_path) -> None:
    site = make_site([])
    env = _env(site.settings.database_url, tmp_path)
    result = CliRunner().invoke(
        cli,
        ["users", "create", "root", "--role", "Superadmin", "--password-stdin"],
        input="first-admin-password\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "created user root" in result.output
    with TestClient(create_app(site.settings, site=site)) as client:
        headers = login_headers(client, "root", "first-admin-password")
        assert client.get("/api/v1/users", headers=headers).status_code == 200
    again = CliRunner().invoke(
        cli,
        ["users", "create", "root", "--role", "Superadmin", "--password-stdin"],
        input="first-admin-password\n",
        env=env,
    )
    assert again.exit_code == 1 and "taken" in again.output
    bad = CliRunner().invoke(
        cli,
        ["users", "create", "x1y", "--role", "Boss", "--password-stdin"],
        input="first-admin-password\n",
        env=env,
    )
    assert bad.exit_code == 1 and "unknown role" in bad.output


@pytest.mark.sqlite
def test_erp_demo_creates_one_user_per_role_on_the_embedded_default(tmp_path) -> None:
    env = {"ERP_DATA_DIR": str(tmp_path), "ERP_PLUGINS": "[]", "ERP_REDIS_URL": "", "ERP_DATABASE_URL": ""}
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    first = runner.invoke(cli, ["demo"], env=env)
    assert first.exit_code == 0, first.output
    lines = [line for line in first.output.splitlines() if line.startswith("demo user")]
    assert len(lines) == 22
    password = next(line.split()[-1] for line in lines if "role Superadmin" in line)
    # Run again: nothing created twice, no password printed twice.
    assert "demo user" not in runner.invoke(cli, ["demo"], env=env).output
    settings = load_settings(data_dir=tmp_path, plugins=[], redis_url="")
    with TestClient(create_app(settings)) as client:
        headers = login_headers(client, "demo.superadmin", password)
        assert client.get("/api/v1/audit/logs", headers=headers).status_code == 200
        # The audit chain works on SQLite too (no trigger there).
        client.post("/api/v1/auth/logout", headers=headers)
    assert runner.invoke(cli, ["audit", "verify"], env=env).exit_code == 0


def test_erp_demo_creates_no_users_on_postgresql(make_site, tmp_path) -> None:
    site = make_site([])
    result = CliRunner().invoke(cli, ["demo"], env=_env(site.settings.database_url, tmp_path))
    assert result.exit_code == 0 and "password" not in result.output
    assert "only created on the embedded default" in result.output


def test_cors_refuses_a_wildcard_origin() -> None:
    with pytest.raises(ConfigError, match="credentials"):
        load_settings(cors_origins=["*"])


def test_cors_allows_only_configured_origins(make_client) -> None:
    client = make_client([], cors_origins=["https://portal.factory.local"])
    ok = client.options(
        "/api/v1/auth/login",
        headers={"Origin": "https://portal.factory.local", "Access-Control-Request-Method": "POST"},
    )
    assert ok.headers["access-control-allow-origin"] == "https://portal.factory.local"
    evil = client.options(
        "/api/v1/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in evil.headers


def test_security_headers_on_api_errors_and_docs(make_client) -> None:
    client = make_client([])
    for path, method in (("/api/v1/auth/me", "GET"), ("/api/v1/auth/login", "POST"), ("/docs", "GET")):
        headers = client.request(method, path, json={}).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert client.post("/api/v1/auth/login", json={}).headers["cache-control"] == "no-store"
