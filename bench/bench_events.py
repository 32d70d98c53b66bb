"""Benchmark of the event bus: events/s through relay + worker on the Redis broker, and the lag from
the emitter's commit to the handler's commit (p50/p95) at a steady emit rate.

Runs against a fresh PostgreSQL database (created and dropped here) and a real `erp worker`
subprocess, with the example plugin as emitter and subscriber:

    .venv/bin/python bench/bench_events.py --rate 200 --seconds 15 --burst 5000

Environment: ERP_TEST_DATABASE_URL (admin URL, default postgresql://postgres@127.0.0.1:5432/postgres),
ERP_BENCH_REDIS_URL (default redis://127.0.0.1:6379/10; a random namespace keeps runs apart).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

from erp_example.service import create_note
from sqlalchemy import func, select

from kernel.clock import utcnow
from kernel.events.models import EventDelivery, OutboxEvent
from kernel.migrate import upgrade
from kernel.site import Site, build_site
from kernel.testing import (
    DEFAULT_PG,
    EventWorkerProcess,
    create_database,
    drop_database,
    test_settings,
    wait_until,
)


def _handled(site: Site) -> int:
    with site.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(EventDelivery).where(EventDelivery.status == "delivered")
        ) or 0


def steady_lag(site: Site, rate: float, seconds: float) -> list[float]:
    """Emit at ``rate`` events/s for ``seconds``; returns commit-to-handled lag of each, in seconds."""
    committed: dict[uuid.UUID, datetime] = {}
    interval = 1 / rate
    start = time.monotonic()
    n = int(rate * seconds)
    for i in range(n):
        with site.sessions() as session:
            create_note(session, text=f"steady {i}")
            event_id = session.scalar(select(OutboxEvent.id).order_by(OutboxEvent.seq.desc()).limit(1))
            session.commit()
        committed[event_id] = utcnow()  # type: ignore[index]
        # Pace against the schedule, not the previous emit, so slow commits do not lower the rate.
        delay = start + (i + 1) * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    wait_until(lambda: _handled(site) >= n, timeout=120, interval=0.2)
    with site.sessions() as session:
        handled = dict(session.execute(select(EventDelivery.event_id, EventDelivery.handled_at)).all())
    return [(handled[e] - t).total_seconds() for e, t in committed.items()]


def burst(site: Site, n: int, already: int) -> float:
    """Commit ``n`` events as fast as possible (100 per transaction); returns events/s until all handled."""
    start = time.monotonic()

    def emit_all() -> None:
        for batch in range(0, n, 100):
            with site.sessions.begin() as session:
                for i in range(batch, min(n, batch + 100)):
                    create_note(session, text=f"burst {i}")

    emitter = threading.Thread(target=emit_all)
    emitter.start()
    emitter.join()
    wait_until(lambda: _handled(site) >= already + n, timeout=600, interval=0.1)
    return n / (time.monotonic() - start)


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200, help="steady emit rate, events/s")
    parser.add_argument("--seconds", type=float, default=15, help="length of the steady phase")
    parser.add_argument("--burst", type=int, default=5000, help="events in the throughput phase")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    admin_url = os.environ.get("ERP_TEST_DATABASE_URL", DEFAULT_PG)
    redis_url = os.environ.get("ERP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
    db_name = f"erp_bench_{uuid.uuid4().hex[:10]}"
    data_dir = Path(tempfile.mkdtemp(prefix="erp-bench-"))
    url = create_database(admin_url, db_name)
    settings = test_settings(url, data_dir, ["example"], broker="redis", broker_url=redis_url,
                             broker_namespace=f"erp_bench_{uuid.uuid4().hex[:8]}", log_level="WARNING")
    site = build_site(settings)
    worker = None
    try:
        upgrade(site)
        worker = EventWorkerProcess(
            settings, ["--processes", str(args.processes), "--threads", str(args.threads)],
            data_dir / "worker.log", {},
        )
        wait_until(lambda: len(worker.worker_pids()) == args.processes, timeout=30)
        with site.sessions.begin() as session:  # warm-up: imports, connections, queues
            create_note(session, text="warm-up")
        wait_until(lambda: _handled(site) >= 1, timeout=60)

        lags = steady_lag(site, args.rate, args.seconds)
        rate = burst(site, args.burst, already=1 + len(lags))
        print(f"workers: {args.processes} processes x {args.threads} threads, Redis broker, PostgreSQL")
        print(f"steady {args.rate:g} events/s for {args.seconds:g}s ({len(lags)} events): "
              f"lag commit->handled p50 {percentile(lags, 50) * 1000:.0f} ms, "
              f"p95 {percentile(lags, 95) * 1000:.0f} ms, "
              f"p99 {percentile(lags, 99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms, "
              f"mean {statistics.fmean(lags) * 1000:.0f} ms")
        print(f"burst of {args.burst} events: {rate:.0f} events/s from first commit to last handled")
    finally:
        if worker is not None:
            worker.stop()
        site.dispose()
        drop_database(admin_url, db_name)


if __name__ == "__main__":
    main()
