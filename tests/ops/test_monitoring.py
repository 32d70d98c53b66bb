"""Prometheus, Alertmanager and Grafana files: checked by promtool/amtool, and every metric they name exists.

The erp_* names are checked against a scrape of a real `erp serve`; exporter names against the real
exporters (when installed) through the documented list in exporter_metrics.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.ops import exporter_metrics as em
from tests.ops.helpers import DEPLOY, erp_env, erp_serve, free_port, require_tool, sign_in
from tests.ops.promql import DASHBOARDS, all_metric_names, write_dashboard_rules

EXPORTER_NAMES = em.POSTGRES_EXPORTER | em.REDIS_EXPORTER | em.NODE_EXPORTER | em.PROMETHEUS_SYNTHETIC


def test_prometheus_config_and_rules_pass_promtool(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    shutil.copytree(DEPLOY / "prometheus" / "rules", tmp_path / "rules")
    config = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    assert config.count("/etc/prometheus/rules/") == 1
    (tmp_path / "prometheus.yml").write_text(config.replace("/etc/prometheus/rules/", f"{tmp_path}/rules/"))
    checked = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 rule files found" in checked.stdout + checked.stderr
    rules = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "rules" / "erp.rules.yml")],
        capture_output=True,
        text=True,
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_every_dashboard_expression_parses(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    rules = write_dashboard_rules(tmp_path / "dashboards.rules.yml")
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alertmanager_config_passes_amtool() -> None:
    amtool = require_tool("amtool")
    checked = subprocess.run(
        [amtool, "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alertmanager_routes_by_severity() -> None:
    amtool = require_tool("amtool")
    config = str(DEPLOY / "alertmanager" / "alertmanager.yml")
    for labels, receiver in (
        (["severity=critical", "alertname=ErpApiDown"], "on-call"),
        (["severity=warning", "alertname=DiskAlmostFull"], "it-team"),
    ):
        routed = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={config}", *labels],
            capture_output=True,
            text=True,
        )
        assert routed.stdout.strip() == receiver, routed.stdout + routed.stderr


def test_grafana_provisioning_points_at_the_dashboards() -> None:
    datasource = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/erp.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    titles = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        titles.add(board["title"])
        for panel in board["panels"]:
            if panel["type"] != "text":
                assert panel["datasource"]["uid"] == uid, (path.name, panel["title"])
                assert panel["targets"], (path.name, panel["title"])
    assert titles == {
        "ERP / API performance",
        "ERP / Database",
        "ERP / Business metrics",
        "ERP / System health",
    }


def test_exporter_metrics_used_are_documented() -> None:
    used = {n for n in all_metric_names() if not n.startswith("erp_")}
    assert used <= EXPORTER_NAMES, f"not in exporter_metrics.py: {sorted(used - EXPORTER_NAMES)}"


@pytest.fixture(scope="module")
def scrape_text(migrated_pg: str, tmp_path_factory: pytest.TempPathFactory, test_services) -> Iterator[str]:
    """A scrape of a real `erp serve` (two workers, Redis configured) after some ordinary traffic."""
    workdir = tmp_path_factory.mktemp("scrape")
    # Every built-in plugin that contributes business gauges, so the dashboards' panels are checked too.
    plugins = ["example", "approval", "warehouse", "production", "quality", "ppic"]
    env = erp_env(migrated_pg, workdir, plugins, ERP_REDIS_URL=test_services.redis_url)
    with (
        erp_serve(env, "--workers", "2", cwd=workdir) as (base, _),
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        client.headers.update(sign_in(base, migrated_pg, workdir))
        note = client.post("/api/v1/example/notes", json={"text": "scrape"}).json()
        client.get(f"/api/v1/example/notes/{note['id']}")
        client.get("/api/v1/example/notes/987654")
        yield client.get("/metrics").text


def _exposed(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)  # a family with no series yet still announces its name
        names.update(s.name for s in family.samples)
    return names


def test_every_erp_metric_in_rules_and_dashboards_is_scraped(scrape_text: str) -> None:
    exposed = _exposed(scrape_text)
    used = {n for n in all_metric_names() if n.startswith("erp_")}
    expected = used - em.TEXTFILE_COLLECTOR
    missing = sorted(expected - exposed)
    assert not missing, f"used in deploy/ but not exposed by /metrics: {missing}"
    assert {"erp_events_dead", "erp_events_outbox_backlog"} <= used & exposed  # the event-bus alerts


@pytest.fixture
def exporter_run(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def run(binary: str, *args: str, env: dict[str, str] | None = None) -> str:
        port = free_port()
        proc = subprocess.Popen(
            [require_tool(binary), f"--web.listen-address=127.0.0.1:{port}", *args],
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        deadline = time.monotonic() + 15
        while True:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)

    yield run
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def test_documented_exporter_metrics_are_what_real_exporters_expose(
    exporter_run, migrated_pg: str, test_services
) -> None:
    from sqlalchemy import make_url

    url = make_url(migrated_pg)
    dsn = f"postgresql://{url.username}@{url.host}:{url.port or 5432}/{url.database}?sslmode=disable"
    queries = f"--extend.query-path={DEPLOY / 'postgres-exporter' / 'queries.yaml'}"
    pg = _exposed(
        exporter_run(
            "prometheus-postgres-exporter",
            queries,  # type: ignore[operator]
            env={"DATA_SOURCE_NAME": dsn},
        )
    )
    assert pg >= em.POSTGRES_EXPORTER, sorted(em.POSTGRES_EXPORTER - pg)
    redis_addr = test_services.redis_url.rsplit("/", 1)[0]
    redis_args = f"--redis.addr={redis_addr}"
    rd = _exposed(exporter_run("prometheus-redis-exporter", redis_args))  # type: ignore[operator]
    assert rd >= em.REDIS_EXPORTER, sorted(em.REDIS_EXPORTER - rd)
    node = _exposed(exporter_run("prometheus-node-exporter"))  # type: ignore[operator]
    assert node >= em.NODE_EXPORTER, sorted(em.NODE_EXPORTER - node)
