"""A whole Route 1 MO: release, allocate, daily inputs in five departments with transfers, completion."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from erp_production import allocation, daily, mo, reports, spk
from erp_production.models import Spk
from erp_production.schemas import MoIn
from erp_warehouse.models import StockLedger
from production_testkit import Factory
from sqlalchemy import func, select

from kernel.events.models import OutboxEvent

D = Decimal


def _release(f: Factory, qty: str = "100", batch: str = "B-001") -> list[Spk]:
    with f.session() as s:
        order = mo.create_mo(
            s,
            data=MoIn(
                product_id=f.products["TEDDY"],
                quantity=D(qty),
                routing="route1",
                batch_number=batch,
                week="W05-2026",
                destination="SE",
            ),
        )
        _, created = mo.release_mo(s, mo_id=order.id, level="full", user="ppic")
        s.expunge_all()
    return created


def _input(
    f: Factory, spk_id: int, day: int, good: str, defect: str = "0", rework: str = "0", user: str = "op"
) -> None:
    with f.session() as s:
        today = daily.site_today(s)
        daily.post_daily_input(
            s,
            hooks=f.hooks,
            spk_id=spk_id,
            work_date=today - timedelta(days=day),
            good=D(good),
            defect=D(defect),
            rework=D(rework),
            user=user,
        )


def _complete(f: Factory, spk_id: int) -> None:
    with f.session() as s:
        spk.complete_spk(s, spk_id=spk_id, user="spv")


def test_whole_route1_mo_stock_progress_and_summary_agree(factory: Factory) -> None:
    f = factory
    f.stock_in("FAB", "CUTTING", "40", lot="ROLL-1")
    f.stock_in("FAB", "CUTTING", "40", lot="ROLL-2")
    f.stock_in("THR", "EMBROIDERY", "5")
    f.stock_in("THR", "SEWING", "10")
    f.stock_in("FILL", "FINISHING", "6000")
    f.stock_in("LBL", "PACKING", "200")
    cut, emb, sew, fin, pack = _release(f)
    assert [x.department for x in (cut, emb, sew, fin, pack)] == [
        "Cutting",
        "Embroidery",
        "Sewing",
        "Finishing",
        "Packing",
    ]
    assert [x.target for x in (cut, emb, sew, fin, pack)] == [D(110), D(107), D(107), D(105), D(104)]

    # Cutting: 110 x 0.5 m x 1.10 = 60.5 m, FIFO over the two rolls; a second run reserves nothing.
    with f.session() as s:
        lines = allocation.allocate(s, spk_id=cut.id, user="ppic")
    assert lines[0].required == D("60.5") and lines[0].reserved_now == D("60.5") and lines[0].shortage == 0
    assert [x["quantity"] for x in lines[0].lots] == [D(40), D("20.5")]
    with f.session() as s:
        again = allocation.allocate(s, spk_id=cut.id, user="ppic")
    assert again[0].reserved_now == 0 and again[0].covered_before == D("60.5")
    assert f.reserved("FAB", "CUTTING") == D("60.5")

    _input(f, cut.id, 2, "60", "2")
    _input(f, cut.id, 1, "45", "3")
    assert f.on_hand("FAB", "CUTTING") == D("19.5") and f.reserved("FAB", "CUTTING") == 0
    _complete(f, cut.id)
    f.deliver(cut.id, "105")

    with f.session() as s:
        emb_alloc = {x.product_id: x for x in allocation.allocate(s, spk_id=emb.id, user="ppic")}
    assert emb_alloc[f.products["WIP-CUT"]].reserved_now == D(105)
    assert emb_alloc[f.products["WIP-CUT"]].shortage == D(2)
    assert emb_alloc[f.products["THR"]].reserved_now == D("1.07")
    _input(f, emb.id, 1, "100", "3", "2")
    _complete(f, emb.id)
    f.deliver(emb.id, "100")

    _input(f, sew.id, 1, "98", "2")  # no allocation: backflush from free stock
    _complete(f, sew.id)
    f.deliver(sew.id, "98")

    _input(f, fin.id, 1, "50", "1")
    _input(f, fin.id, 0, "46", "1")
    _complete(f, fin.id)
    f.deliver(fin.id, "96")

    _input(f, pack.id, 0, "96")
    _complete(f, pack.id)

    # Stock agrees with the inputs to the unit.
    assert f.on_hand("WIP-CUT", "CUTTING") == 0 and f.on_hand("WIP-CUT", "EMBROIDERY") == 0
    assert f.on_hand("THR", "EMBROIDERY") == D("3.95")  # 5 - 105 x 0.01
    assert f.on_hand("THR", "SEWING") == D(8)  # 10 - 100 x 0.02
    assert f.on_hand("FILL", "FINISHING") == D("6000") - D("98") * D("55.08")
    assert f.on_hand("LBL", "PACKING") == D(104)
    assert f.on_hand("TEDDY", "PACKING") == D(96)
    for store, wip in (("EMBROIDERY", "WIP-EMB"), ("SEWING", "WIP-SKIN"), ("FINISHING", "WIP-STUFF")):
        assert f.on_hand(wip, store) == 0
        assert f.on_hand(wip, "TRANSIT") == 0
    with f.session() as s:
        consumed_fab = s.scalar(
            select(func.sum(StockLedger.quantity)).where(
                StockLedger.product_id == f.products["FAB"],
                StockLedger.to_location_id == f.locations["PRODUCTION"],
            )
        )
        assert consumed_fab == D("60.5")

        progress = reports.spk_progress(s, spk_id=fin.id)
        assert (progress["good"], progress["defect"], progress["target"]) == (D(96), D(2), D(105))
        assert [d["cumulative_good"] for d in progress["days"]] == [D(50), D(96)]
        fill = next(m for m in progress["materials"] if m["product_id"] == f.products["FILL"])
        assert fill["consumed"] == D("5397.84") and fill["debt"] == 0
        assert progress["percent_done"] == D("91.43")

        summary = {r["key"]: r for r in reports.production_summary(s, group_by="department")}
        assert summary["Cutting"]["good"] == D(105) and summary["Cutting"]["defect"] == D(5)
        assert summary["Embroidery"]["rework"] == D(2)
        assert summary["Packing"]["good"] == D(96) and summary["Packing"]["yield_pct"] == D("100.00")
        by_mo = reports.production_summary(s, group_by="mo")
        assert sum(r["good"] for r in by_mo) == D(105 + 100 + 98 + 96 + 96)

        order = mo.get_mo(s, mo_id=cut.mo_id)
        assert order.state == "done"
        names = list(s.scalars(select(OutboxEvent.name).order_by(OutboxEvent.seq)))
        assert names.count("spk_started") == 5 and names.count("spk_completed") == 5
        assert names.count("mo_released") == 1
