"""`erp serve` as operators run it: several workers behind one /metrics, and no serving before migrations."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kernel import testing
from kernel.migrate import pending_branches, upgrade
from kernel.site import build_site
from tests.ops.helpers import ERP, erp_env, erp_serve, sign_in, value

NOTE_ROUTE = "/api/v1/example/notes/{note_id}"


def _get_missing_note(base: str, i: int) -> int:
    # A new connection per request, so the kernel spreads them over the workers' shared socket.
    with httpx.Client(timeout=10) as client:
        return client.get(f"{base}/api/v1/example/notes/{900000 + i}").status_code


def test_metrics_sum_the_requests_of_every_worker(migrated_pg: str, data_dir: Path, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    env = erp_env(migrated_pg, data_dir, ["example"], PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    with erp_serve(env, "--workers", "2", cwd=tmp_path) as (base, proc):
        sent = 0
        workers: set[str] = set()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for _ in range(10):  # until both workers served some (almost always the first round)
                statuses = list(pool.map(lambda i: _get_missing_note(base, i), range(sent, sent + 40)))
                assert set(statuses) == {401}  # no token: refused by the route's guard
                sent += len(statuses)
                workers = {
                    m.group(1)
                    for f in metrics_dir.glob("counter_*.db")
                    if (m := re.match(r"counter_(\d+)\.db", f.name)) and int(m.group(1)) != proc.pid
                }
                if len(workers) >= 2:
                    break
        assert len(workers) >= 2, f"only worker(s) {workers} served; cannot show summing"
        body = httpx.get(base + "/metrics", timeout=10).text
        assert value(body, "erp_http_requests_total", route=NOTE_ROUTE, status="401") == sent
        assert value(body, "erp_http_request_duration_seconds_count", route=NOTE_ROUTE, status="401") == sent
        # Live gauges are summed over live workers only; nothing is in flight between requests but
        # the scrape itself.
        assert value(body, "erp_http_requests_in_progress") == 1


def test_single_worker_serves_metrics_from_memory(migrated_pg: str, data_dir: Path, tmp_path: Path) -> None:
    with erp_serve(erp_env(migrated_pg, data_dir, ["example"]), cwd=tmp_path) as (base, _):
        for i in range(5):
            _get_missing_note(base, i)
        body = httpx.get(base + "/metrics", timeout=10).text
        assert value(body, "erp_http_requests_total", route=NOTE_ROUTE, status="401") == 5
        assert value(body, "erp_dependency_up", dependency="database") == 1


@pytest.fixture
def old_release_db(test_services: testing.TestServices, data_dir: Path) -> Iterator[str]:
    """A database as the previous release left it: only the kernel's first revision applied."""
    name = f"erp_ops_upgrade_{uuid.uuid4().hex[:8]}"
    url = testing.create_database(test_services.pg_admin_url, name)
    site = build_site(testing.test_settings(url, data_dir, ["example"]))
    try:
        upgrade(site, "kernel_0001")
        assert pending_branches(site) == ["kernel", "example"]
    finally:
        site.dispose()
    yield url
    testing.drop_database(test_services.pg_admin_url, name)


def test_serve_refuses_pending_migrations_then_upgrade_makes_it_serve(
    old_release_db: str, data_dir: Path, tmp_path: Path
) -> None:
    env = erp_env(old_release_db, data_dir, ["example"])
    refused = subprocess.run(
        [ERP, "serve", "--port", "1"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0
    assert "migrations pending for kernel, example" in refused.stderr
    assert "run `erp db upgrade`" in refused.stderr

    upgraded = subprocess.run(
        [ERP, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert upgraded.returncode == 0, upgraded.stderr
    current = subprocess.run([ERP, "db", "current"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert "pending" not in current.stdout and current.stdout.count("up to date") == 2, current.stdout

    with erp_serve(env, cwd=tmp_path) as (base, _):
        headers = sign_in(base, old_release_db, data_dir)
        created = httpx.post(
            base + "/api/v1/example/notes", json={"text": "after upgrade"}, headers=headers, timeout=10
        )
        assert created.status_code == 201
