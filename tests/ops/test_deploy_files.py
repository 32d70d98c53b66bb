"""deploy/ files that no engine here can run (Docker) are checked for structure; the rest by their tools."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.ops.helpers import DEPLOY, ERP, REPO, require_tool

COMPOSE = DEPLOY / "docker-compose.production.yml"
LONG_RUNNING = {
    "postgres",
    "redis",
    "api",
    "worker",
    "scheduler",
    "nginx",
    "prometheus",
    "grafana",
    "alertmanager",
    "postgres-exporter",
    "redis-exporter",
    "node-exporter",
}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_runs_the_whole_stack_with_restarts_and_health_checks() -> None:
    services = _compose()["services"]
    assert set(services) >= LONG_RUNNING | {"migrate", "backup"}
    for name in LONG_RUNNING:
        assert services[name].get("restart") == "unless-stopped", name
    for name in ("postgres", "redis", "api", "nginx", "prometheus", "grafana", "alertmanager"):
        assert "healthcheck" in services[name], name
    assert "/health/ready" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["command"] == ["erp", "worker"]
    assert services["scheduler"]["command"] == ["erp", "scheduler"]


def test_compose_addresses_match_the_trusted_proxy_and_scrape_settings() -> None:
    compose = _compose()
    services = compose["services"]
    env = services["api"]["environment"]
    nginx_ip = services["nginx"]["networks"]["erp"]["ipv4_address"]
    prometheus_ip = services["prometheus"]["networks"]["erp"]["ipv4_address"]
    assert env["ERP_FORWARDED_ALLOW_IPS"] == f'["{nginx_ip}"]'
    assert env["ERP_METRICS_ALLOW"] == f'["{prometheus_ip}/32"]'
    assert env["PROMETHEUS_MULTIPROC_DIR"] == "/run/erp-metrics"


def test_compose_mounts_files_that_exist() -> None:
    for service in _compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), volume


def test_every_compose_variable_is_in_env_example_and_env_is_ignored() -> None:
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE.read_text()))
    example = {
        line.split("=", 1)[0]
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert used <= example, sorted(used - example)
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=REPO)
    assert ignored.returncode == 0, "deploy/.env must be ignored by git"


def test_dockerfile_is_multi_stage_non_root_and_ships_no_tests() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2
    assert re.search(r"^USER erp$", dockerfile, re.M)
    copies = [line for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert not any("tests" in line or "example" in line for line in copies), copies
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[1:4] == ["**", "!pyproject.toml", "!kernel/"]
    shipped = {p.parent.name for p in (REPO / "plugins").glob("*/pyproject.toml")}
    default = re.search(r'ARG ERP_PLUGINS="([^"]+)"', dockerfile)
    assert default and set(default.group(1).split()) == shipped


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    for unit in (DEPLOY / "systemd").iterdir():
        text = unit.read_text().replace("/opt/erp/venv/bin/erp", ERP)
        text = text.replace("/opt/erp/deploy/", f"{DEPLOY}/")
        (tmp_path / unit.name).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run([analyze, "verify", *units], capture_output=True, text=True)
    # Missing users/paths of the target machine are not errors of the files.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "ReadWritePaths" not in line and "RequiresMountsFor" not in line
    ]
    assert not problems, problems


def test_logrotate_config_parses(tmp_path: Path) -> None:
    logrotate = require_tool("logrotate")
    # The `erp` account exists on the target server, not here.
    config = (DEPLOY / "logrotate" / "erp").read_text()
    assert config.count("su erp erp") == 1
    (tmp_path / "erp").write_text(config.replace("su erp erp", "su root root"))
    result = subprocess.run(
        [logrotate, "-d", "-s", str(tmp_path / "state"), str(tmp_path / "erp")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "error:" not in result.stderr, result.stderr
    assert "Handling 2 logs" in result.stderr


def test_filebeat_ships_the_json_logs() -> None:
    config = yaml.safe_load((DEPLOY / "filebeat" / "filebeat.yml").read_text())
    inputs = {i["id"]: i for i in config["filebeat.inputs"]}
    assert "/var/log/erp/api.log" in inputs["erp-app"]["paths"]
    assert "/var/log/nginx/erp_access.log" in inputs["erp-nginx"]["paths"]
    assert all(any("ndjson" in p for p in i["parsers"]) for i in inputs.values())
    assert config["output.logstash"]["hosts"]


def test_backup_scripts_are_executable_shell() -> None:
    for script in ("erp-backup.sh", "erp-restore.sh"):
        path = DEPLOY / "backup" / script
        assert path.stat().st_mode & 0o111, script
        assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
        assert shutil.which("bash")
