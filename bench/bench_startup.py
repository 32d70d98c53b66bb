"""Start-up time and resident memory of one `erp serve` worker with every built-in plugin enabled.

    .venv/bin/python bench/bench_startup.py [--runs 5]

Runs `erp db upgrade` once in a temporary directory (embedded SQLite), then starts `erp serve` several
times and reports, per run, the time from process start until /health/ready answers 200, and the
worker's resident set size (VmRSS) after one request.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ERP = str(Path(sys.executable).parent / "erp")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def one_run(workdir: str, env: dict[str, str]) -> tuple[float, float]:
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [ERP, "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("erp serve exited")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        return elapsed, rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERP_")}
    with tempfile.TemporaryDirectory() as workdir:
        subprocess.run([ERP, "db", "upgrade"], cwd=workdir, env=env, check=True, capture_output=True)
        plugins = subprocess.run(
            [ERP, "plugins"], cwd=workdir, env=env, capture_output=True, text=True
        ).stdout
        enabled = [line.split()[0] for line in plugins.splitlines()[1:] if line.split()[1] == "yes"]
        runs = [one_run(workdir, env) for _ in range(args.runs)]
    times = [t for t, _ in runs]
    rss = [r for _, r in runs]
    print(f"plugins enabled: {', '.join(enabled)}")
    median = statistics.median(times)
    print(f"start-up to ready: median {median:.2f} s (min {min(times):.2f}, max {max(times):.2f})")
    print(f"resident memory of the worker: median {statistics.median(rss):.0f} MiB (max {max(rss):.0f})")


if __name__ == "__main__":
    main()
