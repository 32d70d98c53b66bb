"""Benchmark of PPIC's MRP on the production issue's factory-year data set.

Loads the data set of ``bench_production.py`` (500 MOs, 2,500 SPKs, 60,000 daily inputs), then makes
part of it open: the last ``--in-progress`` loaded MOs back to In progress (their SPKs and inputs count
as produced), ``--drafts`` Draft MOs spread over 8 weeks, plus ``--articles`` more articles, each a
5-step chain with 30 materials out of a pool of 300, with Draft MOs of their own; open POs for half the
materials. Then measures ``erp_ppic.mrp.material_requirements`` (what ``GET
/api/v1/ppic/reports/material-requirements`` runs) for all open MOs. Target: < 1 s.

    .venv/bin/python bench/bench_ppic_mrp.py [--runs 10]

Environment: ERP_BENCH_DATABASE_URL (admin URL, default postgresql://postgres@127.0.0.1:5432/postgres),
ERP_BENCH_REDIS_URL (default redis://127.0.0.1:6379/9). A throwaway database is created and dropped.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from erp_ppic import mrp
from erp_production.models import Bom, BomLine, ManufacturingOrder
from erp_warehouse.models import Location, Partner, Product, PurchaseOrder, PurchaseOrderLine
from sqlalchemy import insert, select, update

from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.site import Site

sys.path.insert(0, str(Path(__file__).parent))
from bench_production import DEPARTMENTS, load_factory_year, scratch_site

WEEKS = [f"W{w:02d}-2026" for w in range(10, 18)]


def add_open_work(site: Site, *, in_progress: int, drafts: int, articles: int) -> None:
    """Reopen loaded MOs, add Draft MOs, extra articles with their BOM chains, and open POs."""
    data = load_factory_year(site)
    with unit_of_work(site.sessions) as s:
        reopen = data.mo_ids[-in_progress:]
        s.execute(
            update(ManufacturingOrder)
            .where(ManufacturingOrder.id.in_(reopen))
            .values(state="in_progress", week=WEEKS[0])
        )
        unit = s.scalar(select(Product.unit_id).where(Product.id == data.products["FG"]))
        pool = [
            {"code": f"PMAT-{i:03d}", "name": f"PMAT-{i:03d}", "type": "raw_material", "unit_id": unit}
            for i in range(300)
        ]
        s.execute(insert(Product), pool)
        mats = list(s.scalars(select(Product.id).where(Product.code.like("PMAT-%")).order_by(Product.id)))
        fgs = [data.products["FG"]]
        for a in range(articles):
            chain = []
            for step, dept in enumerate(DEPARTMENTS):
                ptype = "finished_good" if dept == "Packing" else "wip"
                code = f"ART{a:03d}-{step}"
                s.execute(insert(Product).values(code=code, name=code, type=ptype, unit_id=unit))
                chain.append(s.scalar(select(Product.id).where(Product.code == code)))
            fgs.append(chain[-1])
            for step, dept in enumerate(DEPARTMENTS):
                bom_id = s.scalar(
                    insert(Bom)
                    .values(
                        product_id=chain[step],
                        department=dept,
                        revision="A",
                        output_qty=Decimal(1),
                        active=True,
                        created_at=utcnow(),
                    )
                    .returning(Bom.id)
                )
                picks = [
                    mats[(a * 7 + step * 31 + k * 13) % len(mats)] for k in range(30 if step == 0 else 3)
                ]
                lines = [
                    {
                        "bom_id": bom_id,
                        "line_no": k + 1,
                        "component_id": m,
                        "quantity": Decimal("0.25"),
                        "wastage_pct": Decimal(3),
                    }
                    for k, m in enumerate(dict.fromkeys(picks))
                ]
                if step:
                    lines.append(
                        {
                            "bom_id": bom_id,
                            "line_no": len(lines) + 1,
                            "component_id": chain[step - 1],
                            "quantity": Decimal(1),
                            "wastage_pct": Decimal(0),
                        }
                    )
                s.execute(insert(BomLine), lines)
        s.execute(
            insert(ManufacturingOrder),
            [
                {
                    "number": f"MO-D{i:05d}",
                    "product_id": fgs[i % len(fgs)],
                    "quantity": Decimal(300 + (i * 37) % 500),
                    "routing": "route1",
                    "batch_number": f"BENCH-D{i}",
                    "week": WEEKS[i % len(WEEKS)],
                    "state": "draft",
                    "created_at": utcnow(),
                }
                for i in range(drafts)
            ],
        )
        partner = Partner(code="BENCH-SUP", name="Bench supplier", kind="supplier", active=True)
        s.add(partner)
        s.flush()
        supplier = partner.id
        store = s.scalar(select(Location.id).where(Location.code == "CUTTING"))
        for i, m in enumerate(mats[::2]):
            po_id = s.scalar(
                insert(PurchaseOrder)
                .values(
                    number=f"PO-B{i:05d}",
                    po_type="accessories",
                    supplier_id=supplier,
                    location_id=store,
                    state="sent",
                    week=WEEKS[i % len(WEEKS)],
                    expected_date=date(2026, 3, 2),
                    created_at=utcnow(),
                )
                .returning(PurchaseOrder.id)
            )
            s.execute(
                insert(PurchaseOrderLine).values(
                    purchase_order_id=po_id,
                    line_no=1,
                    product_id=m,
                    unit_id=unit,
                    quantity=Decimal(500),
                    price=Decimal(1000),
                    stock_qty=Decimal(500),
                    received_qty=Decimal(0),
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--in-progress", type=int, default=100)
    parser.add_argument("--drafts", type=int, default=400)
    parser.add_argument("--articles", type=int, default=100)
    args = parser.parse_args()
    with scratch_site(["approval", "warehouse", "production", "quality", "ppic"]) as site:
        add_open_work(site, in_progress=args.in_progress, drafts=args.drafts, articles=args.articles)
        timings = []
        result = {}
        for _ in range(args.runs):
            with unit_of_work(site.sessions) as s:
                started = time.perf_counter()
                result = mrp.material_requirements(s)
                timings.append((time.perf_counter() - started) * 1000)
        print(
            f"MRP: {result['mos']} open MOs, {result['materials']} materials, {len(result['weeks'])} weeks, "
            f"{len(result['shortages'])} shortages"
        )
        print(
            f"MRP for all open MOs: first {timings[0]:.0f} ms, median {statistics.median(timings):.0f} ms, "
            f"max {max(timings):.0f} ms over {args.runs} runs (target < 1000 ms)"
        )


if __name__ == "__main__":
    main()
