"""MRP on generated data (20 MOs, 3-level BOMs, stock, reservations, open POs) equals a brute force
written here from the generator's own definitions, not from the database."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from erp_production.bom import create_bom
from erp_production.mo import cancel_mo, create_mo
from erp_production.schemas import BomIn, MoIn
from erp_warehouse import masterdata
from erp_warehouse.schemas import PartnerIn, ProductIn
from erp_warehouse.stock import MoveLine, post_stock_move, reserve
from ppic_testkit import API, Ppic, receive, sent_po

D = Decimal
WEEKS = ["W10-2026", "W11-2026", "W12-2026", "W13-2026", "W14-2026"]


def _week_key(w: str) -> tuple[int, int]:
    return (9999, 99) if w == "unscheduled" else (int(w[4:]), int(w[1:3]))


def _generate(p: Ppic, rng: random.Random) -> dict[str, Any]:
    """Materials, 4 articles with 3-level BOMs (Packing <- Sewing <- Cutting), 20 MOs, stock, POs."""
    unit = p.units["PCS"]
    boms: dict[str, list[tuple[str, Decimal, Decimal, list[tuple[str, Decimal]]]]] = {}
    with p.session() as s:
        create = masterdata.create_record

        def product(code: str, ptype: str) -> int:
            pid = create(
                s, kind="products", data=ProductIn(code=code, name=code, type=ptype, unit_id=unit)
            ).id
            p.products[code] = pid
            return pid

        mats = [f"M{i:02d}" for i in range(12)]
        for m in mats:
            product(m, "raw_material")
        sup2 = create(
            s, kind="partners", data=PartnerIn(code="SUP2", name="Second supplier", kind="supplier")
        ).id
        for a in range(4):
            fg, skin, cut = f"ART{a}", f"ART{a}-SKIN", f"ART{a}-CUT"
            for code, ptype in ((fg, "finished_good"), (skin, "wip"), (cut, "wip")):
                product(code, ptype)
            picks = rng.sample(mats, 6)
            boms[cut] = [
                (m, D(rng.choice(["0.25", "0.4", "1.5"])), D(rng.choice(["0", "3", "10"])), [])
                for m in picks[:2]
            ]
            boms[skin] = [(cut, D(1), D(0), []), (picks[2], D("0.02"), D("2"), [])]
            boms[fg] = [
                (skin, D(1), D(0), []),
                (picks[3], D(1), D(0), []),
                (picks[4], D("54"), D("2"), [(picks[5], D(30))]),
            ]
            for department, made in (("Cutting", cut), ("Sewing", skin), ("Packing", fg)):
                create_bom(
                    s,
                    data=BomIn.model_validate(
                        {
                            "product_id": p.products[made],
                            "department": department,
                            "revision": "A",
                            "lines": [
                                {
                                    "component_id": p.products[c],
                                    "quantity": q,
                                    "wastage_pct": w,
                                    "variants": [
                                        {
                                            "kind": "alternative",
                                            "component_id": p.products[v],
                                            "share_pct": sh,
                                        }
                                        for v, sh in variants
                                    ],
                                }
                                for c, q, w, variants in boms[made]
                            ],
                        }
                    ),
                )
        mos = []
        for i in range(22):
            week = rng.choice(WEEKS)
            with_week = i % 5 != 0
            end = date.fromisocalendar(2026, int(week[1:3]), 5)
            order = create_mo(
                s,
                data=MoIn(
                    product_id=p.products[f"ART{rng.randrange(4)}"],
                    quantity=D(rng.randrange(50, 400)),
                    routing="route2",
                    batch_number=f"GEN-{i}",
                    week=week if with_week else None,
                    planned_end=end,
                ),
            )
            mos.append((order.id, order.product_id, order.quantity, week))
        cancelled = [mos.pop()[0], mos.pop()[0]]  # 22 created, 2 cancelled: 20 open
        for mo_id in cancelled:
            cancel_mo(s, mo_id=mo_id)
        on_hand: dict[str, Decimal] = defaultdict(lambda: D(0))
        at: dict[str, tuple[str, Decimal]] = {}
        for m in mats[:9]:
            for loc in ("MAIN", "CUTTING"):
                qty = D(rng.randrange(0, 3000))
                if qty:
                    line = MoveLine(p.products[m], p.locations["SUPPLIER"], p.locations[loc], qty)
                    post_stock_move(s, hooks=p.hooks, lines=[line], reference="OPENING")
                    on_hand[m] += qty
                    if qty > at.get(m, ("", D(0)))[1]:
                        at[m] = (loc, qty)
        # Stock reserved for something else is not free for these MOs.
        reserved = {m: min(D(250), at[m][1]) for m in mats[:2] if m in at}
        for m, qty in reserved.items():
            reserve(
                s,
                product_id=p.products[m],
                location_id=p.locations[at[m][0]],
                quantity=qty,
                reference="OTHER",
            )
    # Open POs: sent ones with a week or an expected date, one partly received, one fully received (not
    # open any more), a draft (not sent), and one without any date.
    incoming: dict[str, dict[str | None, Decimal]] = defaultdict(lambda: defaultdict(lambda: D(0)))
    supplier: dict[str, str] = {}
    for n, m in enumerate(mats[:10]):
        qty = D(rng.randrange(200, 2000))
        sid = p.supplier_id if n % 2 else sup2
        kind = n % 4
        week = rng.choice(WEEKS) if kind == 0 else None
        expected = date.fromisocalendar(2026, rng.randrange(10, 15), 2) if kind == 1 else None
        po = sent_po(
            p.site,
            po_type="accessories",
            product_id=p.products[m],
            qty=str(qty),
            location_id=p.locations["MAIN"],
            supplier_id=sid,
            week=week,
            expected=expected,
        )
        supplier[m] = "Supplier" if sid == p.supplier_id else "Second supplier"
        arrives = week or (f"W{expected.isocalendar()[1]:02d}-2026" if expected else None)
        if n == 3:
            receive(p.site, po, str(qty))  # done: stock, no longer incoming
            on_hand[m] += qty
        elif n == 5:
            receive(p.site, po, "100")
            on_hand[m] += D(100)
            incoming[m][arrives] += qty - 100
        else:
            incoming[m][arrives] += qty
    return {
        "boms": boms,
        "mos": mos,
        "on_hand": on_hand,
        "reserved": reserved,
        "incoming": incoming,
        "supplier": supplier,
    }


def _brute_force(g: dict[str, Any]) -> list[tuple[str, str, Decimal, Decimal, str]]:
    """Recursive explosion of every open MO, then week-by-week netting: the rules of the docstring of
    ``erp_ppic.mrp``, computed from the generator's definitions."""
    boms = g["boms"]
    need: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: D(0)))

    def explode(item: str, qty: Decimal, week: str) -> None:
        if item not in boms:
            need[item][week] += qty
            return
        for comp, q, wastage, variants in boms[item]:
            per = q * (1 + wastage / 100)
            main_share = D(100)
            for alt, share in variants:
                explode(alt, qty * per * share / 100, week)
                main_share -= share
            explode(comp, qty * per * main_share / 100, week)

    code_of = {v: k for k, v in g["codes"].items()}
    for _, product_id, qty, week in g["mos"]:
        explode(code_of[product_id], qty, week)
    out = []
    for m, by_week in need.items():
        by_week = {w: q.quantize(D("0.0001"), rounding=ROUND_HALF_UP) for w, q in by_week.items()}
        incoming = g["incoming"].get(m, {})
        balance = g["on_hand"].get(m, D(0)) - g["reserved"].get(m, D(0)) + incoming.get(None, D(0))
        for week in sorted(set(by_week) | {w for w in incoming if w}, key=_week_key):
            balance += incoming.get(week, D(0)) - by_week.get(week, D(0))
            if balance < 0:
                out.append(
                    (
                        m,
                        week,
                        -balance,
                        (-balance).to_integral_value(rounding=ROUND_CEILING),
                        g["supplier"].get(m, "unassigned"),
                    )
                )
                balance = D(0)
    return sorted(out, key=lambda r: (_week_key(r[1]), r[0]))


def test_mrp_equals_a_brute_force_on_generated_data(ppic: Ppic) -> None:
    p = ppic
    g = _generate(p, random.Random(20260125))
    g["codes"] = dict(p.products)
    expected = _brute_force(g)
    assert len(g["mos"]) == 20 and expected, "the generated data must produce shortages"

    resp = p.client.get(f"{API}/reports/material-requirements", headers=p.as_("PPIC Manager"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["mos"] == 20
    got = [
        (r["product_code"], r["week"], D(r["shortage"]), D(r["suggested_qty"]), r["supplier"])
        for r in body["shortages"]
    ]
    assert got == expected
    grouped = [
        (grp["supplier"], r["product_code"], r["week"]) for grp in body["by_supplier"] for r in grp["lines"]
    ]
    assert sorted(grouped) == sorted((s, m, w) for m, w, _, _, s in expected)
    assert body["by_supplier"][-1]["supplier"] == "unassigned" or all(s != "unassigned" for *_, s in expected)

    csv_resp = p.client.get(f"{API}/reports/material-requirements?format=csv", headers=p.as_("Purchasing"))
    assert csv_resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_resp.text)))
    assert sorted(
        (r["supplier"], r["product_code"], r["week"], D(r["suggested_qty"])) for r in rows
    ) == sorted((s, m, w, q) for m, w, _, q, s in expected)
    assert (
        p.client.get(f"{API}/reports/material-requirements", headers=p.as_("Admin Sewing")).status_code == 403
    )
