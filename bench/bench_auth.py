"""Benchmarks of the auth kernel: login cost (Argon2id), per-request session check, audit write throughput.

Runs against real PostgreSQL and Redis (a throwaway database is created and dropped):

    .venv/bin/python bench/bench_auth.py [--threads 16] [--writes 100]

Environment: ERP_BENCH_DATABASE_URL (admin URL, default postgresql://postgres@127.0.0.1:5432/postgres),
ERP_BENCH_REDIS_URL (default redis://127.0.0.1:6379/9). Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from kernel.app import create_app
from kernel.audit.chain import AuditEntry, append
from kernel.auth.passwords import hasher_for
from kernel.db import unit_of_work
from kernel.migrate import upgrade
from kernel.site import Site, build_site
from kernel.testing import create_database, create_test_user, drop_database, test_settings


def _timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _summary(label: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(f"{label:<48} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   (n={len(ms)})")


def bench_login(site: Site, client: TestClient, n: int) -> None:
    hasher = hasher_for(site.settings)
    stored = hasher.hash("benchmark-password")
    verify = _timed(lambda: hasher.verify(stored, "benchmark-password"), n)
    _summary("argon2id verify (m=19 MiB, t=2, p=1)", verify)
    user, password = create_test_user(site, "Security", username="bench.login")
    body = {"username": user.username, "password": password}
    _summary("POST /api/v1/auth/login (full request)",
             _timed(lambda: client.post("/api/v1/auth/login", json=body), n))


def bench_request_overhead(site: Site, client: TestClient, n: int) -> None:
    user, password = create_test_user(site, "Security", username="bench.request")
    token = client.post("/api/v1/auth/login", json={"username": user.username, "password": password}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    public = _timed(lambda: client.get("/health/live"), n)
    guarded = _timed(lambda: client.get("/api/v1/meta/plugins", headers=headers), n)
    _summary("GET /health/live (public, no auth)", public)
    _summary("GET /api/v1/meta/plugins (JWT + Redis session + RBAC)", guarded)
    overhead = statistics.median(guarded) - statistics.median(public)
    print(f"{'  => authentication overhead per request':<48} ~{overhead:.2f} ms")


def bench_audit(site: Site, threads: int, writes: int, chains: int) -> float:
    def writer(worker: int) -> None:
        for i in range(writes):
            with unit_of_work(site.sessions) as session:
                entry = AuditEntry(action="bench", request_id=uuid.uuid4().hex, entity_type="thing",
                                   entity_id=str(i), new={"worker": worker, "i": i})
                append(session, [entry], chains=chains)

    pool = [threading.Thread(target=writer, args=(w,)) for w in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    rate = threads * writes / elapsed
    print(f"audit appends, {threads} writers, {chains:>2} chain(s){'':<14} {rate:8.0f} rows/s "
          f"({threads * writes} rows in {elapsed:.2f} s)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--writes", type=int, default=100, help="audit transactions per writer")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    admin = os.environ.get("ERP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("ERP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    name = f"erp_bench_{uuid.uuid4().hex[:10]}"
    url = create_database(admin, name)
    try:
        settings = test_settings(url, Path(tempfile.mkdtemp(prefix="erp-bench-")), [], redis_url=redis_url,
                                 db_pool_size=args.threads + 4)
        site = build_site(settings)
        upgrade(site)
        with TestClient(create_app(settings, site=site)) as client:
            bench_login(site, client, 30)
            bench_request_overhead(site, client, args.requests)
        one = bench_audit(site, args.threads, args.writes, chains=1)
        many = bench_audit(site, args.threads, args.writes, chains=16)
        print(f"{'  => 16 chains vs one global chain':<48} x{many / one:.2f}")
        site.dispose()
    finally:
        drop_database(admin, name)


if __name__ == "__main__":
    main()
