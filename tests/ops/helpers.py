"""Shared helpers of the operations tests: free ports, scraping, running `erp serve` as a subprocess."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ERP = str(Path(sys.executable).with_name("erp"))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of a metrics exposition as (name, labels, value)."""
    families = text_string_to_metric_families(text)
    return [(s.name, dict(s.labels), s.value) for fam in families for s in fam.samples]


def value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples named ``name`` whose labels include ``labels`` (0 when none)."""
    return sum(v for n, lab, v in samples(text) if n == name and labels.items() <= lab.items())


def require_tool(name: str) -> str:
    """Path of an installed tool, or skip the test saying what is missing (scripts/test.sh installs it)."""
    import pytest

    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/test.sh installs it, via ensure_tools, as root)")
    return path


def erp_env(database_url: str, data_dir: Path, plugins: list[str], **extra: str) -> dict[str, str]:
    """Environment for an `erp` subprocess on the test database (no developer ERP_* leaking in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERP_", "PROMETHEUS_MULTIPROC"))}
    env.update(
        ERP_ENV="test",
        ERP_DATABASE_URL=database_url,
        ERP_DATA_DIR=str(data_dir),
        ERP_PLUGINS="[" + ",".join(f'"{p}"' for p in plugins) + "]",
        ERP_SECRET_KEY="ops-test-secret-" + "x" * 32,
    )
    env.update(extra)
    return env


@contextmanager
def erp_serve(env: dict[str, str], *args: str, cwd: Path, timeout: float = 30) -> Iterator[tuple[str, Any]]:
    """Run `erp serve` on a free port until it answers /health/live; yields (base URL, process)."""
    port = free_port()
    log = (cwd / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen(
        [ERP, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                output = Path(log.name).read_text()[-2000:]
                raise RuntimeError(f"erp serve exited {proc.returncode}: {output}")
            try:
                if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("erp serve did not answer in time")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def sign_in(base: str, database_url: str, data_dir: Path, role: str = "Warehouse Admin") -> dict[str, str]:
    """Create a user with ``role`` in the server's database and sign in through ``base``; auth headers."""
    from kernel import testing
    from kernel.site import build_site

    site = build_site(testing.test_settings(database_url, data_dir, ["example"]))
    try:
        user, password = testing.create_test_user(site, role)
    finally:
        site.dispose()
    resp = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"username": user.username, "password": password},
        verify=False,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}
