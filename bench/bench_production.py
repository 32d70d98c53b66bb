"""Benchmark of the production plugin on a factory-year data set.

500 MOs, 2,500 SPKs (five per MO), 60,000 daily inputs (24 per SPK), bulk-loaded; then measures the
production summary for one month (target p95 < 200 ms), the progress of one SPK (p95 < 30 ms) and the
auto-allocation of an SPK with 30 materials (< 50 ms), through the services the routes call.

    .venv/bin/python bench/bench_production.py [--runs 30]

Environment: ERP_BENCH_DATABASE_URL (admin URL, default postgresql://postgres@127.0.0.1:5432/postgres),
ERP_BENCH_REDIS_URL (default redis://127.0.0.1:6379/9). A throwaway database is created and dropped.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from erp_production import allocation, mo, reports
from erp_production.bom import create_bom
from erp_production.models import DailyInput, ManufacturingOrder, Spk
from erp_production.schemas import BomIn, MoIn
from erp_warehouse import masterdata
from erp_warehouse.models import Lot
from erp_warehouse.schemas import LocationIn, ProductIn, UnitIn
from erp_warehouse.stock import MoveLine, post_stock_move
from sqlalchemy import insert, select

from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.migrate import upgrade
from kernel.site import Site, build_site
from kernel.testing import create_database, drop_database, test_settings

DEPARTMENTS = ["Cutting", "Embroidery", "Sewing", "Finishing", "Packing"]


def _timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with scratch_site(["approval", "warehouse", "production"]) as site:
        run(site, args.runs)


@contextmanager
def scratch_site(plugins: list[str]) -> Iterator[Site]:
    """A migrated site with ``plugins`` on a database of its own, dropped afterwards.

    ERP_BENCH_DATABASE_URL (admin URL) and ERP_BENCH_REDIS_URL (default db 9) say where.
    """
    admin = os.environ.get("ERP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis = os.environ.get("ERP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    name = f"erp_bench_{uuid.uuid4().hex[:8]}"
    url = create_database(admin, name)
    try:
        site = build_site(test_settings(url, Path(tempfile.mkdtemp()), plugins, redis_url=redis))
        try:
            upgrade(site)
            yield site
        finally:
            site.dispose()
    finally:
        drop_database(admin, name)


@dataclass
class FactoryYear:
    """What ``load_factory_year`` created: master data ids, the bulk-loaded SPKs, one live MO's SPKs."""

    products: dict[str, int]
    locations: dict[str, int]
    spk_ids: list[int]
    template: dict[str, Spk]
    cutting_spk: int
    inputs: int
    mo_ids: list[int]


def load_factory_year(site: Site, start_day: date = date(2025, 1, 1)) -> FactoryYear:
    """The factory-year data set: one MO released through the services (its SPKs are the template),
    499 done MOs with 2,495 SPKs and 59,880 daily inputs bulk-loaded, 30 materials in 90 lots."""
    hooks = site.registry.pm.hook
    with unit_of_work(site.sessions) as s:
        create = masterdata.create_record
        unit = create(s, kind="units", data=UnitIn(code="PCS", name="Pieces")).id
        root = create(s, kind="locations", data=LocationIn(code="ROOT", name="Factory", kind="view")).id
        locs = {}
        for code, kind, dept in [
            ("SUPPLIER", "supplier", None),
            ("PRODUCTION", "production", None),
            ("TRANSIT", "transit", None),
        ] + [(d.upper(), "store", d.lower()) for d in DEPARTMENTS]:
            locs[code] = create(
                s,
                kind="locations",
                data=LocationIn(code=code, name=code, kind=kind, parent_id=root, department=dept),
            ).id
        products = {}
        chain = ["WIP-1", "WIP-2", "WIP-3", "WIP-4", "FG"]
        for code in [*chain, *(f"MAT-{i:02d}" for i in range(30))]:
            ptype = "finished_good" if code == "FG" else "wip" if code.startswith("WIP") else "raw_material"
            products[code] = create(
                s, kind="products", data=ProductIn(code=code, name=code, type=ptype, unit_id=unit)
            ).id
        for i, dept in enumerate(DEPARTMENTS):
            lines = (
                [{"component_id": products[chain[i - 1]], "quantity": "1"}]
                if i
                else [
                    {"component_id": products[f"MAT-{m:02d}"], "quantity": "0.25", "wastage_pct": "3"}
                    for m in range(30)
                ]
            )
            create_bom(
                s,
                data=BomIn.model_validate(
                    {"product_id": products[chain[i]], "department": dept, "revision": "A", "lines": lines}
                ),
            )
        # 30 materials in the cutting store, 3 lots each.
        for m in range(30):
            for n in range(3):
                lot = Lot(
                    code=f"L{m}-{n}",
                    product_id=products[f"MAT-{m:02d}"],
                    received_qty=Decimal(500),
                    received_at=utcnow() - timedelta(days=10 - n),
                    active=True,
                )
                s.add(lot)
                s.flush()
                post_stock_move(
                    s,
                    hooks=hooks,
                    reference="OPENING",
                    lines=[
                        MoveLine(
                            products[f"MAT-{m:02d}"],
                            locs["SUPPLIER"],
                            locs["CUTTING"],
                            Decimal(500),
                            lot_id=lot.id,
                        )
                    ],
                )
        first = mo.create_mo(
            s,
            data=MoIn(
                product_id=products["FG"], quantity=Decimal(500), routing="route1", batch_number="BENCH-0"
            ),
        )
        _, spks = mo.release_mo(s, mo_id=first.id)
        template = {sp.department: sp for sp in spks}
        cutting_spk = template["Cutting"].id
        s.expunge_all()

    with unit_of_work(site.sessions) as s:
        mos = [
            {
                "number": f"MO-B{i:05d}",
                "product_id": products["FG"],
                "quantity": Decimal(500),
                "routing": "route1",
                "batch_number": f"BENCH-{i}",
                "state": "done",
                "release_level": "full",
                "created_at": utcnow(),
            }
            for i in range(1, 500)
        ]
        s.execute(insert(ManufacturingOrder), mos)
        mo_ids = list(
            s.scalars(select(ManufacturingOrder.id).where(ManufacturingOrder.batch_number != "BENCH-0"))
        )
        spk_rows = []
        for mo_id in mo_ids:
            for seq, dept in enumerate(DEPARTMENTS, start=1):
                t = template[dept]
                spk_rows.append(
                    {
                        "number": f"SPK-B{mo_id}-{seq}",
                        "mo_id": mo_id,
                        "department": dept,
                        "sequence": seq,
                        "bom_id": t.bom_id,
                        "product_id": t.product_id,
                        "input_product_id": t.input_product_id,
                        "store_location_id": t.store_location_id,
                        "target": t.target,
                        "state": "completed",
                        "created_at": utcnow(),
                    }
                )
        s.execute(insert(Spk), spk_rows)
        spk_ids = list(s.scalars(select(Spk.id).where(Spk.number.like("SPK-B%")).order_by(Spk.id)))
        inputs = []
        for k, spk_id in enumerate(spk_ids):
            base = start_day + timedelta(days=(k // 5) % 330)
            for d in range(24):
                inputs.append(
                    {
                        "spk_id": spk_id,
                        "work_date": base + timedelta(days=d),
                        "good": Decimal(20),
                        "defect": Decimal("0.5"),
                        "rework": Decimal(1),
                        "created_at": utcnow(),
                        "updated_at": utcnow(),
                        "corrections": 0,
                    }
                )
        for i in range(0, len(inputs), 5000):
            s.execute(insert(DailyInput), inputs[i : i + 5000])
    return FactoryYear(products, locs, spk_ids, template, cutting_spk, len(inputs), mo_ids)


def run(site: Site, runs: int) -> None:
    started = time.perf_counter()
    data = load_factory_year(site)
    products, spk_ids, cutting_spk = data.products, data.spk_ids, data.cutting_spk
    print(
        f"loaded {len(spk_ids) // 5 + 1} MOs, {len(spk_ids) + 5} SPKs, {data.inputs} daily inputs "
        f"in {time.perf_counter() - started:.1f} s"
    )

    def summary() -> None:
        with unit_of_work(site.sessions) as s:
            reports.production_summary(
                s, group_by="day", date_from=date(2025, 6, 1), date_to=date(2025, 6, 30)
            )

    def progress() -> None:
        with unit_of_work(site.sessions) as s:
            reports.spk_progress(s, spk_id=spk_ids[len(spk_ids) // 2])

    summary_ms = _timed(summary, runs)
    progress_ms = _timed(progress, runs)
    cutting = [cutting_spk]
    with unit_of_work(site.sessions) as s:
        for i in range(5):
            order = mo.create_mo(
                s,
                data=MoIn(
                    product_id=products["FG"],
                    quantity=Decimal(500),
                    routing="route1",
                    batch_number=f"BENCH-A{i}",
                ),
            )
            cutting += [x.id for x in mo.release_mo(s, mo_id=order.id)[1] if x.department == "Cutting"]
    alloc_ms = []
    for spk_id in cutting:
        with unit_of_work(site.sessions) as s:
            t0 = time.perf_counter()
            lines = allocation.allocate(s, spk_id=spk_id, user="bench")
            alloc_ms.append((time.perf_counter() - t0) * 1000)
        assert len(lines) == 30 and all(x.shortage == 0 for x in lines)
    print(f"production summary, one month by day: p95 {_p95(summary_ms):.1f} ms (target < 200)")
    print(f"progress of one SPK:                  p95 {_p95(progress_ms):.1f} ms (target < 30)")
    print(
        f"auto-allocation, 30 materials:        first (cold) {alloc_ms[0]:.1f} ms, then max "
        f"{max(alloc_ms[1:]):.1f} ms, median {statistics.median(alloc_ms[1:]):.1f} ms (target < 50)"
    )


if __name__ == "__main__":
    main()
