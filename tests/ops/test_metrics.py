"""/metrics in one process: labels by route template, the scrape guard, database, health and plugin gauges."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from kernel.metrics import cache_hit, cache_miss
from kernel.metrics.multiprocess import mark_dead_workers
from kernel.plugins import LoadedPlugin, PluginManifest, hookimpl
from tests.ops.helpers import samples, value

LOCAL = ("127.0.0.1", 50000)


def scrape(client: TestClient) -> str:
    resp = client.get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return resp.text


def local_client(make_app, plugins: list[str], auth_headers=None, **overrides) -> TestClient:
    """A client on the scrape address; signed in as a Warehouse Admin when ``auth_headers`` is given."""
    client = TestClient(make_app(plugins, **overrides), client=LOCAL, raise_server_exceptions=False)
    client.__enter__()
    if auth_headers is not None:
        client.headers.update(auth_headers(client, "Warehouse Admin"))
    return client


def test_requests_are_counted_by_route_template_never_by_raw_path(make_app, auth_headers) -> None:
    client = local_client(make_app, ["example"], auth_headers)
    route = "/api/v1/example/notes/{note_id}"
    before = scrape(client)
    ids = [client.post("/api/v1/example/notes", json={"text": f"n{i}"}).json()["id"] for i in range(3)]
    for note_id in ids:
        assert client.get(f"/api/v1/example/notes/{note_id}").status_code == 200
    assert client.get("/api/v1/example/notes/999999").status_code == 404
    assert client.get("/no/such/path/123").status_code == 404
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("erp_http_requests_total", method="GET", route=route, status="200") == 3
    assert delta("erp_http_requests_total", method="GET", route=route, status="404") == 1
    assert delta("erp_http_requests_total", method="POST", route="/api/v1/example/notes", status="201") == 3
    assert delta("erp_http_requests_total", route="unmatched", status="404") == 1
    assert delta("erp_http_request_duration_seconds_count", method="GET", route=route, status="200") == 3
    assert delta("erp_http_request_duration_seconds_bucket", route=route, status="200", le="+Inf") == 3
    routes = {lab.get("route") for name, lab, _ in samples(after) if name.startswith("erp_http_")}
    assert not any(r and r.startswith("/api/v1/example/notes/") and "{" not in r for r in routes), routes
    assert "/no/such/path/123" not in routes


def test_metrics_are_forbidden_outside_the_scrape_addresses(make_app) -> None:
    app = make_app([])
    outsider = TestClient(app, client=("10.1.2.3", 40000))
    resp = outsider.get("/metrics")
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
    assert "10.1.2.3" in resp.json()["detail"]
    # Spoofed forwarding headers do not help: only the proxy layer (uvicorn, trusted IPs) rewrites them.
    assert outsider.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 403
    assert TestClient(app, client=("::1", 40000)).get("/metrics").status_code == 200
    allowed = TestClient(make_app([], metrics_allow=["10.0.0.0/8"]), client=("10.1.2.3", 40000))
    assert allowed.get("/metrics").status_code == 200


def test_a_user_token_with_the_permission_reads_metrics_from_anywhere(make_app, auth_headers) -> None:
    outsider = TestClient(make_app([]), client=("10.1.2.3", 40000))
    outsider.__enter__()  # start-up syncs the declared permissions and their default grants
    assert outsider.get("/metrics", headers=auth_headers(outsider, "Admin")).status_code == 200
    assert outsider.get("/metrics", headers=auth_headers(outsider, "Security")).status_code == 403
    assert outsider.get("/metrics", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_database_query_time_and_pool_in_use_are_measured(make_app, auth_headers) -> None:
    # No embedded event worker: its relay polls the database and would hold a connection at random.
    client = local_client(make_app, ["example"], auth_headers, events_embedded_worker=False)
    before = scrape(client)
    client.post("/api/v1/example/notes", json={"text": "x"})
    after = scrape(client)
    assert value(after, "erp_db_query_duration_seconds_count", operation="insert") > value(
        before, "erp_db_query_duration_seconds_count", operation="insert"
    )
    # Every request returned its connection: nothing is left checked out between requests.
    assert value(after, "erp_db_pool_connections_in_use") == 0


def test_pool_gauge_counts_a_connection_held_open(make_site) -> None:
    from kernel.metrics.registry import db_pool_in_use

    site = make_site([])
    base = db_pool_in_use._value.get()
    with site.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        assert db_pool_in_use._value.get() == base + 1
    assert db_pool_in_use._value.get() == base


def test_failed_statements_are_counted(make_site) -> None:
    from kernel.metrics.registry import db_query_errors

    site = make_site([])
    before = db_query_errors.labels(operation="select")._value.get()
    with site.engine.connect() as conn, pytest.raises(ProgrammingError):
        conn.execute(text("SELECT * FROM no_such_table"))
    assert db_query_errors.labels(operation="select")._value.get() == before + 1


def test_dependency_health_is_reported(make_app) -> None:
    text_ok = scrape(local_client(make_app, []))
    assert value(text_ok, "erp_dependency_up", dependency="database") == 1
    assert value(text_ok, "erp_dependency_up", dependency="redis") == 1
    down = scrape(local_client(make_app, [], redis_url="redis://127.0.0.1:1/0"))
    assert value(down, "erp_dependency_up", dependency="redis") == 0
    assert value(down, "erp_build_info") == 1


def test_cache_counter_api(make_app) -> None:
    client = local_client(make_app, [])
    before = scrape(client)
    cache_hit("opscheck")
    cache_hit("opscheck")
    cache_miss("opscheck")
    after = scrape(client)
    assert (
        value(after, "erp_cache_requests_total", cache="opscheck", result="hit")
        - value(before, "erp_cache_requests_total", cache="opscheck", result="hit")
        == 2
    )
    assert value(after, "erp_cache_requests_total", cache="opscheck", result="miss") == 1 + value(
        before, "erp_cache_requests_total", cache="opscheck", result="miss"
    )


class _GaugePlugin:
    """A stand-in plugin contributing business gauges through erp_metrics (good, failing, misnamed)."""

    @staticmethod
    def notes_total(session: Session) -> Iterable[Metric]:
        from erp_example.models import Note

        gauge = GaugeMetricFamily("erp_opsprobe_notes", "Notes stored.")
        gauge.add_metric([], float(session.scalar(select(func.count(Note.id))) or 0))
        yield gauge

    @staticmethod
    def broken(session: Session) -> Iterable[Metric]:
        raise RuntimeError("boom")

    @staticmethod
    def misnamed(session: Session) -> Iterable[Metric]:
        yield GaugeMetricFamily("erp_somebody_else_total_stock", "Not this plugin's name.", value=1)

    @hookimpl
    def erp_metrics(self) -> list[object]:
        return [self.notes_total, self.broken, self.misnamed]


def test_plugins_contribute_gauges_through_erp_metrics(make_site, auth_headers) -> None:
    from kernel.app import create_app

    site = make_site(["example"])
    probe = _GaugePlugin()
    site.registry.pm.register(probe, name="opsprobe")
    site.registry.plugins.append(LoadedPlugin(PluginManifest("opsprobe", "1.0", (1,)), probe))  # type: ignore[arg-type]
    client = TestClient(create_app(site.settings, site=site), client=LOCAL)
    client.__enter__()  # start-up syncs permission grants
    client.headers.update(auth_headers(client, "Warehouse Admin"))
    client.post("/api/v1/example/notes", json={"text": "a"})
    client.post("/api/v1/example/notes", json={"text": "b"})
    body = scrape(client)
    assert value(body, "erp_opsprobe_notes") == 2
    assert value(body, "erp_metrics_collector_up", plugin="opsprobe", collector="notes_total") == 1
    assert value(body, "erp_metrics_collector_up", plugin="opsprobe", collector="broken") == 0
    assert value(body, "erp_metrics_collector_up", plugin="opsprobe", collector="misnamed") == 0
    assert "erp_somebody_else_total_stock" not in body
    assert value(body, "erp_plugin_info", plugin="example") == 1


def test_dead_workers_live_gauges_are_dropped_but_their_counters_kept(tmp_path: Path) -> None:
    code = (
        "from kernel.metrics.registry import http_requests_in_progress, http_requests\n"
        "http_requests_in_progress.inc(); http_requests.labels('GET', '/x', '200').inc()\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": ""}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert any(n.startswith("gauge_livesum_") for n in names), names
    dead = mark_dead_workers(tmp_path)
    assert len(dead) == 1
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert not any(n.startswith("gauge_livesum_") for n in remaining)
    assert any(n.startswith("counter_") for n in remaining)
