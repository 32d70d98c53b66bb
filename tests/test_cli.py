"""The `erp` command as factory IT runs it: in a directory, with a site file, as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ERP = str(Path(sys.executable).parent / "erp")


def run_erp(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ERP_")}
    clean.update(env or {})
    return subprocess.run(
        [ERP, *args], cwd=cwd, env=clean, input=stdin, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_help_explains_the_commands(tmp_path: Path) -> None:
    result = run_erp("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "db", "plugins", "check", "demo"):
        assert command in result.stdout


def test_unknown_plugin_in_site_file(tmp_path: Path) -> None:
    (tmp_path / "erp.toml").write_text('plugins = ["warehouse", "payroll"]\n')
    assert_one_line_error(run_erp("db", "upgrade", cwd=tmp_path), "'payroll'", "not installed")


def test_malformed_site_file(tmp_path: Path) -> None:
    (tmp_path / "erp.toml").write_text('plugins = ["warehouse"\n')
    assert_one_line_error(run_erp("db", "current", cwd=tmp_path), "erp.toml", "malformed TOML")


def test_unknown_setting_in_site_file(tmp_path: Path) -> None:
    (tmp_path / "erp.toml").write_text('plugin_list = ["warehouse"]\n')
    assert_one_line_error(run_erp("db", "current", cwd=tmp_path), "plugin_list")


def test_missing_explicit_site_file(tmp_path: Path) -> None:
    result = run_erp("db", "current", cwd=tmp_path, env={"ERP_CONFIG": str(tmp_path / "nope.toml")})
    assert_one_line_error(result, "nope.toml", "not found")


def test_unreachable_database(tmp_path: Path) -> None:
    result = run_erp(
        "db", "upgrade", cwd=tmp_path, env={"ERP_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/erp"}
    )
    assert_one_line_error(result, "database error")


def test_enabling_a_plugin_whose_requirement_is_disabled(tmp_path: Path) -> None:
    (tmp_path / "erp.toml").write_text('plugins = ["production", "warehouse"]\n')
    assert_one_line_error(run_erp("serve", cwd=tmp_path), "'production'", "'approval'")


def test_production_mode_refuses_generated_secret_and_sqlite(tmp_path: Path) -> None:
    result = run_erp("db", "current", cwd=tmp_path, env={"ERP_ENV": "production"})
    assert_one_line_error(result, "ERP_SECRET_KEY")
    result = run_erp("db", "current", cwd=tmp_path, env={"ERP_ENV": "production", "ERP_SECRET_KEY": "s" * 40})
    assert_one_line_error(result, "SQLite")
    result = run_erp(
        "db",
        "current",
        cwd=tmp_path,
        env={
            "ERP_ENV": "production",
            "ERP_SECRET_KEY": "short",
            "ERP_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
        },
    )
    assert_one_line_error(result, "too short")


def test_plugins_lists_installed_and_enabled(tmp_path: Path) -> None:
    (tmp_path / "erp.toml").write_text('plugins = ["warehouse", "approval"]\n')
    result = run_erp("plugins", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    for name in ("production", "warehouse", "quality", "ppic", "kanban", "approval"):
        assert name in rows
    assert rows["warehouse"][1] == "yes" and rows["production"][1] == "no"
    assert rows["production"][2] == "0.1.0"


def test_embedded_default_upgrade_demo_check_in_an_empty_directory(tmp_path: Path) -> None:
    env = {"ERP_PLUGINS": '["example"]'}
    assert run_erp("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    assert (tmp_path / "erp.db").exists()
    key = tmp_path / ".erp_secret_key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
    for _ in range(2):  # demo data is idempotent
        demo = run_erp("demo", cwd=tmp_path, env=env)
        assert demo.returncode == 0, demo.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "erp.db") as conn:
        assert conn.execute("SELECT count(*) FROM example_note").fetchone() == (1,)
        check = run_erp("check", cwd=tmp_path, env=env)
        assert check.returncode == 0 and "all checks passed" in check.stdout
        conn.execute("INSERT INTO example_note (text, created_at) VALUES ('  ', '2026-01-01 00:00:00')")
    check = run_erp("check", cwd=tmp_path, env=env)
    assert check.returncode == 1
    assert "notes_not_blank: 1 violation" in check.stdout and "is blank" in check.stdout


def test_db_current_and_heads(tmp_path: Path) -> None:
    env = {"ERP_PLUGINS": '["example"]'}
    before = run_erp("db", "current", cwd=tmp_path, env=env)
    assert "pending" in before.stdout
    run_erp("db", "upgrade", cwd=tmp_path, env=env)
    after = run_erp("db", "current", cwd=tmp_path, env=env)
    assert "pending" not in after.stdout and "example_0002" in after.stdout
    heads = run_erp("db", "heads", cwd=tmp_path, env=env)
    assert [line.split() for line in heads.stdout.splitlines()][-1] == ["example", "example_0002"]
    down = run_erp("db", "downgrade", "example", cwd=tmp_path, env=env)
    assert down.returncode == 0, down.stderr
    rows = {
        line.split()[0]: line for line in run_erp("db", "current", cwd=tmp_path, env=env).stdout.splitlines()
    }
    assert "(none)" in rows["example"] and "pending" in rows["example"]
    assert "up to date" in rows["kernel"]


def test_serve_refuses_pending_migrations(tmp_path: Path) -> None:
    result = run_erp("serve", cwd=tmp_path)
    assert_one_line_error(result, "erp db upgrade")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_ready_and_docs_list_the_plugins_routes(tmp_path: Path) -> None:
    env = {"ERP_PLUGINS": '["example"]'}
    assert run_erp("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ERP_")} | env
    proc = subprocess.Popen(
        [ERP, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("erp serve did not come up")
                time.sleep(0.2)
        assert ready.status_code == 200
        paths = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()["paths"]
        assert "/api/v1/example/notes" in paths
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
