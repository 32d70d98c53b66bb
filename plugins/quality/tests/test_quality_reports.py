"""The defect analysis over generated inspections equals an independent computation."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from quality_testkit import Factory

API = "/api/v1/quality"
CHECKPOINTS = ["after_cutting", "after_sewing", "after_finishing", "pre_packing"]
DEPARTMENT = {
    "after_cutting": "Cutting",
    "after_sewing": "Sewing",
    "after_finishing": "Finishing",
    "pre_packing": "Packing",
}


def pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_defect_analysis_equals_an_independent_computation(factory: Factory, auth_headers) -> None:
    f = factory
    rng = random.Random(8)
    h = auth_headers(f.client, "QC Inspector")
    codes = sorted(f.categories)
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)  # a Monday
    generated = []
    for _ in range(60):
        checkpoint = rng.choice(CHECKPOINTS)
        inspected = Decimal(rng.randint(10, 60))
        scrap = Decimal(rng.randint(0, 3))
        rework = Decimal(rng.randint(0, 5))
        passed = inspected - scrap - rework
        defects = []
        if scrap + rework:
            for code in rng.sample(codes, rng.randint(1, 3)):
                defects.append(
                    (code, Decimal(rng.randint(1, int(scrap + rework))) + Decimal("0.5") * rng.randint(0, 1))
                )
        defects = [(c, q) for c, q in defects if q <= scrap + rework]
        product = rng.choice(["BEAR-SEWN", "BEAR-DOLL", "BUNNY-DOLL"])
        at = start + timedelta(days=rng.randint(0, 27), hours=rng.randint(0, 8))
        body = {
            "checkpoint": checkpoint,
            "batch_number": f"B-{rng.randint(1, 5)}",
            "product_id": f.products[product],
            "inspected_qty": str(inspected),
            "pass_qty": str(passed),
            "rework_qty": str(rework),
            "scrap_qty": str(scrap),
            "inspected_at": at.isoformat(),
            "defects": [{"category_id": f.categories[c], "quantity": str(q)} for c, q in defects],
        }
        resp = f.client.post(f"{API}/inspection/inline", json=body, headers=h)
        assert resp.status_code == 201, resp.text
        generated.append((DEPARTMENT[checkpoint], product, at, inspected, passed, rework, scrap, defects))

    date_from, date_to = start + timedelta(days=3), start + timedelta(days=24)
    resp = f.client.get(
        f"{API}/reports/defect-analysis",
        params={"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "period": "week"},
        headers=h,
    )
    assert resp.status_code == 200, resp.text
    report = resp.json()

    chosen = [g for g in generated if date_from <= g[2] < date_to]
    by_category: dict[str, Decimal] = defaultdict(Decimal)
    by_week: dict[str, Decimal] = defaultdict(Decimal)
    by_department: dict[str, Decimal] = defaultdict(Decimal)
    yields: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 4)
    for dept, _product, at, inspected, passed, rework, scrap, defects in chosen:
        for i, v in enumerate((inspected, passed, rework, scrap)):
            yields[dept][i] += v
        for code, qty in defects:
            by_category[code] += qty
            by_department[dept] += qty
            year, week, _ = at.isocalendar()
            by_week[f"W{week:02d}-{year}"] += qty
    total = sum(by_category.values(), Decimal(0))
    assert Decimal(report["total_defects"]) == total

    expected_pareto, running = [], Decimal(0)
    for code, qty in sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0])):
        running += qty
        expected_pareto.append((code, qty, pct(qty, total), pct(running, total)))
    got = [
        (r["key"], Decimal(r["quantity"]), Decimal(r["share"]), Decimal(r["cumulative_share"]))
        for r in report["by_category"]
    ]
    assert got == expected_pareto
    assert got[-1][3] == Decimal(100)
    assert {r["key"]: Decimal(r["quantity"]) for r in report["by_department"]} == dict(by_department)
    assert {r["key"]: Decimal(r["quantity"]) for r in report["by_period"]} == dict(by_week)
    expected_yields = {d: (pct(v[0] - v[3], v[0]), pct(v[1], v[0]), v[0]) for d, v in yields.items()}
    assert {
        y["department"]: (Decimal(y["pass_rate"]), Decimal(y["first_pass_yield"]), Decimal(y["inspected"]))
        for y in report["yields"]
    } == expected_yields

    # The same numbers as CSV, and a department filter narrows everything.
    csv_resp = f.client.get(
        f"{API}/reports/defect-analysis",
        params={"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "format": "csv"},
        headers=h,
    )
    assert csv_resp.status_code == 200 and csv_resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_resp.text)))
    assert [(r["key"], Decimal(r["quantity"])) for r in rows if r["section"] == "by_category"] == [
        (c, q) for c, q, _, _ in expected_pareto
    ]
    sewing = f.client.get(
        f"{API}/reports/defect-analysis",
        params={"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "department": "Sewing"},
        headers=h,
    ).json()
    assert Decimal(sewing["total_defects"]) == by_department.get("Sewing", Decimal(0))
    naive = f.client.get(
        f"{API}/reports/defect-analysis", params={"date_from": "2026-03-01T00:00:00"}, headers=h
    )
    assert naive.status_code == 422


def test_erp_metrics_pass_rate_today_per_department(factory: Factory, auth_headers) -> None:
    from kernel.clock import utcnow
    from kernel.metrics.exposition import render
    from tests.ops.helpers import value

    f = factory
    h = auth_headers(f.client, "QC Inspector")
    now = utcnow()
    for checkpoint, inspected, scrap, at in [
        ("after_sewing", 40, 2, now),
        ("after_sewing", 10, 3, now),
        ("after_cutting", 20, 0, now),
        ("after_cutting", 50, 50, now - timedelta(days=3)),  # not today: left out
    ]:
        body = {
            "checkpoint": checkpoint,
            "batch_number": "B-1",
            "product_id": f.products["BEAR-SEWN"],
            "inspected_qty": str(inspected),
            "pass_qty": str(inspected - scrap),
            "rework_qty": "0",
            "scrap_qty": str(scrap),
            "inspected_at": at.isoformat(),
            "defects": [],
        }
        assert f.client.post(f"{API}/inspection/inline", json=body, headers=h).status_code == 201
    scrape = render(f.client.app.state.site).decode()
    assert value(scrape, "erp_quality_inspected_today_pieces", department="Sewing") == 50
    assert value(scrape, "erp_quality_pass_ratio_today", department="Sewing") == 45 / 50
    assert value(scrape, "erp_quality_pass_ratio_today", department="Cutting") == 1.0
