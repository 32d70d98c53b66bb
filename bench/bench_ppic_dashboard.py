"""Benchmark of the PPIC real-time dashboard on the factory-year data set of the production benchmark.

Loads ``bench_production.load_factory_year`` (500 MOs, 2,500 SPKs, 59,880 daily inputs), then makes the
live figures non-trivial: 200 of the bulk SPKs back in progress (half of them past their deadline) with
inputs dated today, 20,000 QC inspections over the year (some today and this week), minimum stock on
the 30 materials (half below it), 5,000 resolved and 150 open alerts. Measures
``GET /api/v1/ppic/dashboard/real-time`` through the whole HTTP stack (auth, session, JSON) with a
TestClient, and the computation alone. Target: p95 < 100 ms.

    ERP_BENCH_REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/bench_ppic_dashboard.py [--runs 100]

Environment: ERP_BENCH_DATABASE_URL (admin URL, default postgresql://postgres@127.0.0.1:5432/postgres),
ERP_BENCH_REDIS_URL (default redis://127.0.0.1:6379/9). A throwaway database is created and dropped.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from erp_ppic.dashboard import compute_dashboard
from erp_ppic.models_live import Alert
from erp_production.daily import site_today
from erp_production.models import DailyInput, Spk
from erp_quality.models import Inspection
from erp_warehouse.models import Product
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text, update

sys.path.insert(0, str(Path(__file__).parent))

from bench_production import load_factory_year, scratch_site

from kernel.app import create_app
from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.site import Site
from kernel.testing import create_test_user, login_headers

PLUGINS = ["approval", "warehouse", "production", "quality", "ppic"]


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def add_live_figures(site: Site) -> None:
    """In-progress SPKs with today's inputs, a year of inspections, minimum stock, alerts."""
    rng = random.Random(7)
    data = load_factory_year(site)
    now = utcnow()
    with unit_of_work(site.sessions) as s:
        today = site_today(s)
        tz = ZoneInfo(site.settings.timezone)
        live = data.spk_ids[-200:]
        for n, spk_id in enumerate(live):
            deadline = today - timedelta(days=1 + n % 5) if n % 2 else today + timedelta(days=10)
            s.execute(
                update(Spk)
                .where(Spk.id == spk_id)
                .values(state="in_progress", deadline=deadline, started_at=now)
            )
        s.execute(
            insert(DailyInput),
            [
                {
                    "spk_id": spk_id,
                    "work_date": today,
                    "good": Decimal(rng.randint(5, 40)),
                    "defect": Decimal(rng.randint(0, 3)),
                    "rework": Decimal(0),
                    "created_at": now,
                    "updated_at": now,
                    "corrections": 0,
                }
                for spk_id in live
            ],
        )
        spk_ids = data.spk_ids
        rows = []
        for i in range(20_000):
            day = today - timedelta(days=i % 365)
            inspected = Decimal(rng.randint(20, 120))
            scrap = Decimal(rng.randint(0, 4))
            rows.append(
                {
                    "kind": "inline",
                    "checkpoint": "after_sewing",
                    "status": "failed" if scrap else "passed",
                    "spk_id": spk_ids[i % len(spk_ids)],
                    "department": "Sewing",
                    "inspected_qty": inspected,
                    "pass_qty": inspected - scrap,
                    "rework_qty": Decimal(0),
                    "scrap_qty": scrap,
                    "inspected_at": datetime.combine(day, dtime(9 + i % 8), tzinfo=tz),
                    "created_at": now,
                }
            )
        for i in range(0, len(rows), 5000):
            s.execute(insert(Inspection), rows[i : i + 5000])
        materials = [pid for code, pid in data.products.items() if code.startswith("MAT-")]
        for n, pid in enumerate(materials):
            minimum = Decimal(2000 if n % 2 else 100)
            s.execute(update(Product).where(Product.id == pid).values(min_stock=minimum))
        alerts = []
        for i in range(5150):
            open_ = i >= 5000
            alerts.append(
                {
                    "key": f"bench:{i}",
                    "type": "qc_fail",
                    "severity": ("info", "warning", "critical")[i % 3],
                    "subject": f"bench:{i}",
                    "title": f"bench alert {i}",
                    "department": "Sewing",
                    "details": {},
                    "status": "pending" if open_ else "resolved",
                    "escalation_level": "first_line",
                    "raised_at": now - timedelta(minutes=i),
                }
            )
        s.execute(insert(Alert), alerts)
        assert s.scalar(select(Spk.id).where(Spk.state == "in_progress").limit(1)) is not None


def run(site: Site, runs: int) -> None:
    started = time.perf_counter()
    add_live_figures(site)
    with site.engine.begin() as conn:  # what autovacuum does after a bulk load, so plans see real sizes
        conn.execute(text("ANALYZE"))
    print(f"loaded the factory year and the live figures in {time.perf_counter() - started:.1f} s")
    with TestClient(create_app(site.settings, site=site)) as client:
        user, password = create_test_user(site, "PPIC Manager")
        headers = login_headers(client, user.username, password)
        first = client.get("/api/v1/ppic/dashboard/real-time", headers=headers)
        assert first.status_code == 200, first.text
        body = first.json()
        print(
            f"dashboard: {body['mos_by_state']}, {len(body['departments'])} departments, "
            f"{body['late_spks']['count']} late SPKs, {body['shortages']['count']} shortages, "
            f"QC week {body['qc']['week']['inspections']} inspections, {body['alerts']['open']} open alerts"
        )
        http_ms = []
        for _ in range(runs):
            t0 = time.perf_counter()
            r = client.get("/api/v1/ppic/dashboard/real-time", headers=headers)
            http_ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
    compute_ms = []
    for _ in range(runs):
        with site.sessions() as s:
            t0 = time.perf_counter()
            compute_dashboard(s)
            compute_ms.append((time.perf_counter() - t0) * 1000)
    print(
        f"GET /dashboard/real-time ({runs} runs): p50 {statistics.median(http_ms):.1f} ms, "
        f"p95 {_p(http_ms, 95):.1f} ms, max {max(http_ms):.1f} ms (target p95 < 100)"
    )
    print(
        f"compute_dashboard alone:                 p50 {statistics.median(compute_ms):.1f} ms, "
        f"p95 {_p(compute_ms, 95):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with scratch_site(PLUGINS) as site:
        run(site, args.runs)


if __name__ == "__main__":
    main()
