"""Benchmark of the warehouse's hot path, through the whole stack, against the bare database.

(a) single-line ``POST /api/v1/warehouse/stock/move`` through `erp serve --workers 2` (auth with a
    session check in Redis, RBAC, Idempotency-Key, the posting, the kernel's audit rows and the outbox
    event, all committed), ``--clients`` concurrent clients for ``--seconds``: moves/s, p50/p95/p99;
(b) pgbench running /work/shared/bench/pg_stock_move.sql (one balance UPDATE + one ledger INSERT, no
    Python, no HTTP) at the same number of clients on tables shaped as that file says; the ratio (a)/(b);
(c) ``GET /api/v1/warehouse/stock/summary`` latency (sequential requests) with ``--ledger-rows`` ledger
    rows generated set-based (INSERT ... SELECT generate_series) and balances that match them.

Everything runs on a fresh PostgreSQL database (created and dropped here) and Redis:

    .venv/bin/python bench/bench_stock_move.py --seconds 20 --clients 32

Environment: ERP_TEST_DATABASE_URL (admin URL, default postgresql://postgres@127.0.0.1:5432/postgres),
ERP_BENCH_REDIS_URL (default redis://127.0.0.1:6379/13), PGBENCH (default: pgbench on PATH, else
/usr/lib/postgresql/15/bin/pgbench). Events use the Redis broker with no `erp worker` running, so the
API pays for writing the outbox row but no CPU goes to delivery (on a bigger machine workers run
beside the API). Client, server and database share this machine's cores.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import create_engine, make_url, text

from kernel.db import unit_of_work
from kernel.migrate import upgrade
from kernel.site import build_site
from kernel.testing import (
    DEFAULT_PG,
    create_database,
    create_test_user,
    drop_database,
    settings_env,
    test_settings,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
PG_SQL = Path("/work/shared/bench/pg_stock_move.sql")
STORES = 10


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def seed(site, products: int, ledger_rows: int) -> dict[str, object]:
    """Master data and ``ledger_rows`` receipts (set-based SQL), balances equal to their ledger sums."""
    from erp_warehouse import masterdata
    from erp_warehouse.schemas import LocationIn, UnitIn

    with unit_of_work(site.sessions) as s:
        unit = masterdata.create_record(s, kind="units", data=UnitIn(code="PCS", name="Pieces")).id
        root = masterdata.create_record(
            s, kind="locations", data=LocationIn(code="F", name="F", kind="view")
        ).id
        supplier = masterdata.create_record(
            s,
            kind="locations",
            data=LocationIn(code="SUP", name="Suppliers", kind="supplier", parent_id=root),
        ).id
        production = masterdata.create_record(
            s,
            kind="locations",
            data=LocationIn(code="PROD", name="Production", kind="production", parent_id=root),
        ).id
        stores = [
            masterdata.create_record(
                s,
                kind="locations",
                data=LocationIn(
                    code=f"S{i:02d}", name=f"Store {i}", kind="store", parent_id=root, department=f"D{i}"
                ),
            ).id
            for i in range(STORES)
        ]
    t0 = time.monotonic()
    with site.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO warehouse_product (code, name, type, unit_id, min_stock, active) "
                "SELECT 'P' || lpad(g::text, 6, '0'), 'Product ' || g, 'raw_material', :unit, "
                "(g % 7) * 100, true FROM generate_series(1, :n) g"
            ),
            {"unit": unit, "n": products},
        )
        first_product = conn.execute(text("SELECT min(id) FROM warehouse_product")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO warehouse_stock_move (reference, created_by, created_at) "
                "VALUES ('BENCH-SEED', 'bench', now())"
            )
        )
        move_id = conn.execute(text("SELECT max(id) FROM warehouse_stock_move")).scalar_one()
        store_array = "ARRAY[" + ",".join(str(x) for x in stores) + "]"
        conn.execute(
            text(
                "INSERT INTO warehouse_stock_ledger (move_id, line_no, product_id, lot_id, lot_key, "
                "from_location_id, to_location_id, quantity, reference, created_by, created_at) "
                "SELECT :move, g, :p0 + (g % :np), NULL, 0, :sup, "
                f"({store_array})[1 + (g / :np) % {STORES}], "
                "1 + (g % 50), 'BENCH-SEED', 'bench', now() - (g || ' seconds')::interval "
                "FROM generate_series(1, :n) g"
            ),
            {"move": move_id, "p0": first_product, "np": products, "sup": supplier, "n": ledger_rows},
        )
        conn.execute(
            text(
                "INSERT INTO warehouse_stock_balance (product_id, location_id, lot_id, lot_key, on_hand, "
                "reserved, updated_at) SELECT product_id, to_location_id, NULL, 0, sum(quantity), 0, now() "
                "FROM warehouse_stock_ledger GROUP BY product_id, to_location_id"
            )
        )
        balances = conn.execute(text("SELECT count(*) FROM warehouse_stock_balance")).scalar_one()
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return {
        "supplier": supplier,
        "production": production,
        "stores": stores,
        "first_product": first_product,
        "products": products,
        "balances": balances,
        "seed_seconds": time.monotonic() - t0,
    }


def start_server(settings, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env(settings)}
    erp = str(Path(sys.executable).with_name("erp"))
    proc = subprocess.Popen(
        [erp, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, timeout=60, interval=0.3)
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def summary_latency(base: str, token: str, data: dict[str, object], requests: int) -> dict[str, list[float]]:
    """Sequential GET /stock/summary variants; latencies in seconds per variant."""
    headers = {"Authorization": f"Bearer {token}"}
    first = int(data["first_product"])  # type: ignore[call-overload]
    stores = data["stores"]
    variants = {
        "first page (limit 50)": lambda i: {"limit": 50},
        "deep page (offset 40000)": lambda i: {"limit": 50, "offset": 40000},
        "one product": lambda i: {"product_id": first + i % int(data["products"])},  # type: ignore[call-overload]
        "one location": lambda i: {"location_id": stores[i % STORES], "limit": 50},  # type: ignore[index]
        "below_min": lambda i: {"below_min": "true", "limit": 50},
    }
    out: dict[str, list[float]] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for name, params in variants.items():
            client.get("/api/v1/warehouse/stock/summary", params=params(0)).raise_for_status()  # warm
            times = []
            for i in range(requests):
                t = time.perf_counter()
                resp = client.get("/api/v1/warehouse/stock/summary", params=params(i))
                times.append(time.perf_counter() - t)
                if resp.status_code != 200:
                    raise RuntimeError(f"{name}: {resp.status_code} {resp.text}")
            out[name] = times
    return out


def move_load(
    base: str, token: str, data: dict[str, object], clients: int, seconds: float
) -> dict[str, object]:
    """``clients`` threads posting single-line moves (store -> production) for ``seconds``."""
    stores: list[int] = data["stores"]  # type: ignore[assignment]
    first = int(data["first_product"])  # type: ignore[call-overload]
    products = int(data["products"])  # type: ignore[call-overload]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[dict[int, int]] = [{} for _ in range(clients)]
    stop_at = [0.0]
    start_evt = threading.Barrier(clients + 1)

    def run(n: int) -> None:
        rnd = random.Random(n)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            start_evt.wait()
            i = 0
            while time.monotonic() < stop_at[0]:
                body = {
                    "reference": f"BENCH-{n}-{i}",
                    "lines": [
                        {
                            "product_id": first + rnd.randrange(products),
                            "from_location_id": stores[rnd.randrange(STORES)],
                            "to_location_id": data["production"],
                            "quantity": "0.5",
                        }
                    ],
                }
                t = time.perf_counter()
                resp = client.post(
                    "/api/v1/warehouse/stock/move", json=body, headers={"Idempotency-Key": f"b-{n}-{i}"}
                )
                latencies[n].append(time.perf_counter() - t)
                statuses[n][resp.status_code] = statuses[n].get(resp.status_code, 0) + 1
                i += 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for th in threads:
        th.start()
    stop_at[0] = time.monotonic() + seconds
    start_evt.wait()
    t0 = time.monotonic()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - t0
    all_lat = [x for per in latencies for x in per]
    merged: dict[int, int] = {}
    for per in statuses:
        for k, v in per.items():
            merged[k] = merged.get(k, 0) + v
    return {"latencies": all_lat, "statuses": merged, "elapsed": elapsed, "ok": merged.get(201, 0)}


def move_load_wrk(
    base: str, token: str, data: dict[str, object], clients: int, seconds: float, threads: int
) -> dict[str, object]:
    """The same load driven by wrk (C, a few % of a core) so the clients leave the cores to the server."""
    stores: list[int] = data["stores"]  # type: ignore[assignment]
    cmd = [
        shutil.which("wrk") or "wrk",
        f"-t{threads}",
        f"-c{clients}",
        f"-d{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(ROOT / "bench" / "stock_move.lua"),
        base,
        "--",
        token,
        str(data["first_product"]),
        str(data["products"]),
        str(data["production"]),
        ",".join(str(s) for s in stores),
        uuid.uuid4().hex[:8],
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    other = re.search(r"^FIRST-OTHER (.*)$", out, re.M)
    if other is not None:
        print(f"    first response other than 201: {other.group(1)}")
    found = re.search(r"^WRK (\{.*\})$", out, re.M)
    if found is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    import json

    return dict(json.loads(found.group(1)))


def pgbench(admin_url: str, clients: int, seconds: float) -> float:
    """TPS of pg_stock_move.sql at ``clients`` clients on freshly shaped tables (a database of its own)."""
    exe = os.environ.get("PGBENCH") or shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    name = f"erp_pgbench_{uuid.uuid4().hex[:8]}"
    url = create_database(admin_url, name)
    try:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE stock_quant(id serial primary key, product_id int, location_id int, "
                    "qty numeric, unique (product_id, location_id))"
                )
            )
            conn.execute(
                text(
                    "CREATE TABLE stock_move_ledger(id bigserial primary key, product_id int, "
                    "location_id int, "
                    "qty numeric, move_date timestamptz default now(), created_at timestamptz default now(), "
                    "reference text)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO stock_quant(product_id, location_id, qty) SELECT p, l, 1000000 "
                    "FROM generate_series(1, 100) p, generate_series(1, 10) l"
                )
            )
        engine.dispose()
        u = make_url(url)
        cmd = [
            exe,
            "-n",
            "-f",
            str(PG_SQL),
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(int(seconds)),
            "-h",
            u.host or "127.0.0.1",
            "-p",
            str(u.port or 5432),
            "-U",
            u.username or "postgres",
            name,
        ]
        env = {**os.environ, **({"PGPASSWORD": u.password} if u.password else {})}
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
        match = re.search(r"tps = ([0-9.]+)", out)
        assert match, out
        return float(match.group(1))
    finally:
        drop_database(admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20, help="length of the move load and of pgbench")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="erp serve --workers")
    parser.add_argument("--ledger-rows", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--summary-requests", type=int, default=200, help="per summary variant")
    parser.add_argument("--port", type=int, default=18731)
    parser.add_argument(
        "--driver",
        choices=("wrk", "httpx"),
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator for (a): wrk (apt install wrk; default when found) or Python threads",
    )
    parser.add_argument("--wrk-threads", type=int, default=1)
    args = parser.parse_args()

    admin_url = os.environ.get("ERP_TEST_DATABASE_URL", DEFAULT_PG)
    redis_url = os.environ.get("ERP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    db_name = f"erp_bench_{uuid.uuid4().hex[:10]}"
    data_dir = Path(tempfile.mkdtemp(prefix="erp-bench-"))
    url = create_database(admin_url, db_name)
    settings = test_settings(
        url,
        data_dir,
        ["warehouse"],
        redis_url=redis_url,
        broker="redis",
        broker_url=redis_url,
        broker_namespace=f"erp_bench_{uuid.uuid4().hex[:8]}",
        log_level="WARNING",
        db_pool_size=20,
    )
    site = build_site(settings)
    server = None
    try:
        upgrade(site)
        data = seed(site, args.products, args.ledger_rows)
        user, password = create_test_user(site, "Warehouse Admin")
        site.dispose()
        base = f"http://127.0.0.1:{args.port}"
        server = start_server(settings, args.port, args.workers, data_dir / "server.log")
        login = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": user.username, "password": password}
        )
        login.raise_for_status()
        token = login.json()["access_token"]

        print(
            f"machine: {os.cpu_count()} cores shared by clients, {args.workers} API workers, "
            "PostgreSQL, Redis"
        )
        print(
            f"(c) GET /stock/summary, sequential, {args.summary_requests} requests per variant, "
            f"{args.ledger_rows:,} ledger rows, {data['balances']:,} balances, {args.products:,} products "
            f"(seeded in {data['seed_seconds']:.1f}s):"
        )
        for name, times in summary_latency(base, token, data, args.summary_requests).items():
            print(
                f"    {name:26s} p50 {percentile(times, 50) * 1000:6.1f} ms   "
                f"p95 {percentile(times, 95) * 1000:6.1f} ms"
                f"   p99 {percentile(times, 99) * 1000:6.1f} ms"
            )

        if args.driver == "wrk":
            w = move_load_wrk(base, token, data, args.clients, args.seconds, args.wrk_threads)
            api_rate = float(w["created"]) / float(w["duration_s"])
            print(
                f"(a) POST /stock/move, single line, {args.clients} clients (wrk), {w['duration_s']:.1f}s: "
                f"{api_rate:.0f} moves/s; latency p50 {w['p50_ms']:.0f} ms, p95 {w['p95_ms']:.0f} ms, "
                f"p99 {w['p99_ms']:.0f} ms; 201: {w['created']}, other statuses: {w['other']}, "
                f"socket errors: {w['socket_errors']}"
            )
        else:
            load = move_load(base, token, data, args.clients, args.seconds)
            lat: list[float] = load["latencies"]  # type: ignore[assignment]
            api_rate = load["ok"] / load["elapsed"]  # type: ignore[operator]
            print(
                f"(a) POST /stock/move, single line, {args.clients} clients, {load['elapsed']:.1f}s: "
                f"{api_rate:.0f} moves/s; latency p50 {percentile(lat, 50) * 1000:.0f} ms, "
                f"p95 {percentile(lat, 95) * 1000:.0f} ms, p99 {percentile(lat, 99) * 1000:.0f} ms; "
                f"statuses {load['statuses']}"
            )
        stop_server(server)
        server = None

        check = build_site(settings)
        try:
            from erp_warehouse.checks import CHECKS

            with check.sessions() as s:
                problems = [m for c in CHECKS for m in c(s)]
            print(f"    erp check after the load: {len(problems)} problem(s)")
        finally:
            check.dispose()

        tps = pgbench(admin_url, args.clients, args.seconds)
        print(f"(b) pgbench pg_stock_move.sql, {args.clients} clients, {args.seconds:g}s: {tps:.0f} TPS")
        print(f"    ratio API / bare PostgreSQL: {api_rate / tps:.3f} ({tps / api_rate:.1f}x)")
        assert Decimal(api_rate) > 0
    finally:
        if server is not None:
            stop_server(server)
        site.dispose()
        drop_database(admin_url, db_name)


if __name__ == "__main__":
    main()
