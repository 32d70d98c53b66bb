"""The gateway: the shipped nginx.conf in front of a real `erp serve`, checked by nginx itself.

What is real here: Debian's nginx running deploy/nginx/nginx.conf (ports, paths and upstream addresses
substituted, see nginx_render.py), `erp serve` with the example plugin on the test PostgreSQL database.
The API has no WebSocket route yet, so /ws/ is proxied to a tiny echo server standing in for it; the
test shows nginx upgrades the connection and forwards the request id and client address.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ops.helpers import erp_env, erp_serve, free_port, require_tool, sign_in
from tests.ops.nginx_render import NginxPorts, nginx_args, render

AUTH: dict[str, str] = {}
"""The Authorization header of a Warehouse Admin signed in to the module's API server."""


@pytest.fixture(scope="module")
def api_port(migrated_pg: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real `erp serve` (example plugin) for nginx to proxy to."""
    workdir = tmp_path_factory.mktemp("api")
    with erp_serve(erp_env(migrated_pg, workdir, ["example"]), cwd=workdir) as (base, _):
        AUTH.update(sign_in(base, migrated_pg, workdir))
        yield int(base.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def ws_echo() -> Iterator[tuple[int, list[dict[str, str]]]]:
    """A WebSocket echo server standing in for the API's future /ws/ routes; records request headers."""
    from websockets.sync.server import ServerConnection, serve

    seen: list[dict[str, str]] = []

    def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        seen.append({k.lower(): v for k, v in ws.request.headers.raw_items()} | {":path": ws.request.path})
        for message in ws:
            ws.send(message)

    port = free_port()
    server = serve(handler, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port, seen
    server.shutdown()


class Gateway:
    """A running nginx: its URLs and its access log."""

    def __init__(self, workdir: Path, ports: NginxPorts) -> None:
        self.workdir = workdir
        self.https = f"https://127.0.0.1:{ports.https}"
        self.http = f"http://127.0.0.1:{ports.http}"
        self.port = ports.https

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.https, verify=False, timeout=10, headers=AUTH)

    def log_line(self, uri: str) -> dict[str, Any]:
        """The access-log line of the last request for ``uri`` (nginx writes it after answering)."""
        path = self.workdir / "access.log"
        deadline = time.monotonic() + 5
        while True:
            lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
            matching = [line for line in lines if line["uri"] == uri]
            if matching or time.monotonic() > deadline:
                assert matching, f"no access-log line for {uri}"
                return matching[-1]
            time.sleep(0.05)


@pytest.fixture
def gateway(api_port: int, ws_echo: tuple[int, list[dict[str, str]]], tmp_path: Path) -> Iterator[Gateway]:
    """A fresh nginx per test, so each starts with empty rate-limit counters."""
    nginx = require_tool("nginx")
    require_tool("openssl")
    ports = NginxPorts(http=free_port(), https=free_port(), api=api_port, ws=ws_echo[0])
    conf = render(tmp_path, ports)
    proc = subprocess.Popen(
        [*nginx_args(nginx, tmp_path, conf), "-g", "daemon off;"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    gw = Gateway(tmp_path, ports)
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(gw.http + "/health/live", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                errors = (tmp_path / "error.log").read_text()
                raise RuntimeError(f"nginx did not start: {out} {errors}") from None
            time.sleep(0.1)
    yield gw
    proc.terminate()
    proc.wait(timeout=10)


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    nginx = require_tool("nginx")
    require_tool("openssl")
    conf = render(tmp_path, NginxPorts(http=free_port(), https=free_port(), api=free_port(), ws=free_port()))
    result = subprocess.run([*nginx_args(nginx, tmp_path, conf), "-t"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_api_is_proxied_over_tls_with_security_headers_and_one_request_id(gateway: Gateway) -> None:
    with gateway.client() as client:
        created = client.post("/api/v1/example/notes", json={"text": "through nginx"})
        assert created.status_code == 201, created.text
        fetched = client.get(f"/api/v1/example/notes/{created.json()['id']}")
    assert fetched.json()["text"] == "through nginx"
    headers = fetched.headers
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers.get_list("x-frame-options") == ["DENY"]
    assert headers.get_list("x-content-type-options") == ["nosniff"]
    assert headers.get_list("referrer-policy") == ["no-referrer"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]  # the API's own CSP passes
    assert "nginx/" not in headers.get("server", "")
    request_ids = headers.get_list("x-request-id")
    assert len(request_ids) == 1 and re.fullmatch(r"[0-9a-f]{32}", request_ids[0])
    # nginx generated the id, passed it upstream, and the API answered with the same one.
    line = gateway.log_line(f"/api/v1/example/notes/{created.json()['id']}")
    assert line["request_id"] == line["upstream_request_id"] == request_ids[0]
    assert line["status"] == 200 and line["remote_addr"] == "127.0.0.1"


def test_a_client_request_id_travels_through(gateway: Gateway) -> None:
    with gateway.client() as client:
        resp = client.get("/api/v1/example/notes/424242", headers={"X-Request-ID": "android-retry-7"})
    assert resp.status_code == 404
    assert resp.headers["x-request-id"] == "android-retry-7"
    assert resp.json()["request_id"] == "android-retry-7"
    line = gateway.log_line("/api/v1/example/notes/424242")
    assert line["request_id"] == line["upstream_request_id"] == "android-retry-7"


def test_http_redirects_to_https_and_https_speaks_http2(gateway: Gateway) -> None:
    resp = httpx.get(gateway.http + "/api/v1/example/notes/1", timeout=5)
    assert resp.status_code == 301
    assert resp.headers["location"].startswith("https://")
    curl = require_tool("curl")
    version = subprocess.run(
        [curl, "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version}", gateway.https + "/health/live"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout == "2"


def test_metrics_are_not_reachable_through_the_gateway(gateway: Gateway) -> None:
    with gateway.client() as client:
        assert client.get("/metrics").status_code == 404


def _statuses(client: httpx.Client, path: str, count: int, method: str = "GET") -> list[int]:
    body = {} if method == "POST" else None
    return [client.request(method, path, json=body).status_code for _ in range(count)]


def test_api_rate_limit_lets_a_burst_of_21_through_then_429(gateway: Gateway) -> None:
    with gateway.client() as client:
        statuses = _statuses(client, "/api/v1/example/notes/1", 30)
        limited = client.get("/api/v1/example/notes/1")
        health = _statuses(client, "/health/live", 30)
    # 100 r/m = one every 0.6 s, burst 20, nodelay: the first request plus the burst of 20 pass at once.
    assert all(s != 429 for s in statuses[:21]), statuses
    assert statuses[21:] == [429] * 9, statuses
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["status"] == 429 and limited.headers["retry-after"] == "60"
    assert limited.headers["strict-transport-security"].startswith("max-age=")
    assert set(health) == {200}  # health checks are not rate limited
    time.sleep(1.3)  # the bucket drains one slot per 0.6 s
    with gateway.client() as client:
        again = _statuses(client, "/api/v1/example/notes/1", 4)
    assert 429 not in again[:2] and again[-1] == 429, again


def test_login_has_a_stricter_limit(gateway: Gateway) -> None:
    with gateway.client() as client:
        statuses = _statuses(client, "/api/v1/auth/login", 8, method="POST")
    # 10 r/m, burst 5: six attempts reach the API (which refuses the empty body with 422).
    assert statuses[:6] == [422] * 6, statuses
    assert statuses[6:] == [429, 429], statuses


@pytest.mark.slow
def test_sustained_minute_lets_about_121_requests_through(gateway: Gateway) -> None:
    accepted = 0
    sent = 0
    with gateway.client() as client:
        started = time.monotonic()
        while time.monotonic() - started < 60.0:
            sent += 1
            if client.get("/api/v1/example/notes/1").status_code != 429:
                accepted += 1
            time.sleep(0.1)
    # 1 + burst 20 + 60 s / 0.6 s = 121: the 122nd request of a sustained minute is the first refused.
    print(f"\nsustained minute: {sent} sent, {accepted} accepted")
    assert 119 <= accepted <= 123, accepted


def test_websocket_upgrade_goes_through_with_request_id(gateway: Gateway, ws_echo) -> None:
    from websockets.sync.client import connect

    _, seen = ws_echo
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with connect(
        f"wss://127.0.0.1:{gateway.port}/ws/dashboard",
        ssl=context,
        additional_headers={"X-Request-ID": "ws-test-1"},
    ) as ws:
        ws.send("ping")
        assert ws.recv(timeout=5) == "ping"
    upstream = seen[-1]
    assert upstream[":path"] == "/ws/dashboard"
    assert upstream["upgrade"].lower() == "websocket"
    assert upstream["x-request-id"] == "ws-test-1"
    assert upstream["x-real-ip"] == "127.0.0.1"
    assert upstream["x-forwarded-for"] == "127.0.0.1"
    assert upstream["x-forwarded-proto"] == "https"
