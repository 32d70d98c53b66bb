"""Master data, CSV import/export, reports, the erp check consistency checks and demo data."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from erp_warehouse import checks, masterdata, reports
from erp_warehouse.demo import load_demo_data
from erp_warehouse.models import Product, PurchaseOrder, StockLedger
from erp_warehouse.schemas import ProductIn
from erp_warehouse.stock import MoveLine
from sqlalchemy import func, select, text

from kernel.db import unit_of_work
from kernel.errors import Conflict, NotFound, ValidationFailed

D = Decimal


def test_product_crud_list_filter_sort_and_deactivate(stock) -> None:
    with unit_of_work(stock.site.sessions) as s:
        data = ProductIn(code="FAB-BROWN", name="Again", type="raw_material", unit_id=stock.units["M"])
        with pytest.raises(Conflict):
            masterdata.create_record(s, kind="products", data=data)
        with pytest.raises(ValidationFailed) as err:
            masterdata.update_record(
                s, kind="products", record_id=stock.products["EYES"], changes={"unit_id": 999}
            )
        assert err.value.errors[0]["field"] == "unit_id"
        rows, total = masterdata.list_records(
            s, kind="products", filters={"type": "wip"}, sort="-code", limit=1, offset=0
        )
        assert (total, [r.code for r in rows]) == (2, ["WIP-CUT2"])
        masterdata.deactivate_record(s, kind="products", record_id=stock.products["EYES"])
        assert masterdata.list_records(s, kind="products", filters={"active": "false"})[1] == 1
        with pytest.raises(NotFound):
            masterdata.get_record(s, kind="products", record_id=12345)
        with pytest.raises(ValidationFailed):
            masterdata.list_records(s, kind="products", filters={"secret": "x"})
    # an inactive product cannot move
    with pytest.raises(ValidationFailed):
        stock.receive("EYES", "MAIN", 1)


def test_csv_import_is_all_or_nothing_with_errors_per_row_and_column(stock) -> None:
    bad = "code,name,type,unit,category,min_stock\nNEW-1,Thread,auxiliary,CONE,FABRIC,5\nNEW-2,,wip,PCS,,-1\n"
    with unit_of_work(stock.site.sessions) as s, pytest.raises(ValidationFailed) as err:
        masterdata.import_csv(s, kind="products", text=bad)
    cells = {(e["row"], e["field"]) for e in err.value.errors}
    assert cells == {(2, "unit"), (3, "name"), (3, "min_stock")}
    with stock.site.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Product).where(Product.code.like("NEW-%"))) == 0
    good = (
        "code,name,type,unit,category,min_stock\n"
        "NEW-1,Thread,auxiliary,PCS,FABRIC,5\n"
        "EYES,Eyes 12mm,auxiliary,PCS,,10\n"
    )
    with unit_of_work(stock.site.sessions) as s:
        assert masterdata.import_csv(s, kind="products", text=good) == {"created": 1, "updated": 1}
        exported = "".join(masterdata.export_csv(s, kind="products"))
    assert "NEW-1,Thread,auxiliary,PCS,FABRIC,5.0000" in exported
    assert (
        exported.splitlines()[0]
        == "id,code,name,type,unit,category,min_stock,pcs_per_carton,cartons_per_pallet,active"
    )


def test_reports_summary_inventory_below_minimum_and_lot_detail(stock) -> None:
    stock.receive("FILL", "MAIN", 700)
    stock.receive("FILL", "SEWING", 200)
    with unit_of_work(stock.site.sessions) as s:
        masterdata.update_record(
            s, kind="products", record_id=stock.products["FILL"], changes={"min_stock": D(1000)}
        )
        lot = masterdata.create_record(
            s,
            kind="lots",
            data=masterdata.kind_of("lots").schema(code="R1", product_id=stock.products["FAB-BROWN"]),
        )
    stock.receive("FAB-BROWN", "MAIN", D("49.5"), lot_id=lot.id)
    with stock.site.sessions() as s:
        rows, total = reports.stock_summary(s, product_id=stock.products["FILL"])
        assert total == 2 and {r["location_code"]: r["available"] for r in rows} == {
            "MAIN": D(700),
            "SEWING": D(200),
        }
        inventory = reports.inventory_report(s)
        fill = [r for r in inventory if r.product_code == "FILL"]
        assert [(r.location_code, r.on_hand, r.product_total, r.below_minimum) for r in fill] == [
            ("MAIN", D(700), D(900), True),
            ("SEWING", D(200), D(900), True),
        ]
        csv_rows = list(csv.reader(io.StringIO("".join(reports.inventory_csv(inventory)))))
        fill_row = next(r for r in csv_rows if r[1] == "FILL" and r[3] == "MAIN")
        assert [fill_row[0], D(fill_row[4]), D(fill_row[6]), D(fill_row[7]), fill_row[8]] == [
            "FABRIC",
            D(700),
            D(900),
            D(1000),
            "yes",
        ]
        detail = reports.lot_detail(s, lot_id=lot.id)
        assert [(b["location_code"], b["on_hand"]) for b in detail["balances"]] == [("MAIN", D("49.5"))]
        assert [m.quantity for m in detail["moves"]] == [D("49.5")]
        ledger, count = reports.product_ledger(s, product_id=stock.products["FILL"])
        assert count == 2 and ledger[0].to_location_id == stock.locations["SEWING"]


def test_checks_report_a_balance_that_drifted_from_its_ledger(stock) -> None:
    stock.receive("EYES", "MAIN", 10)
    stock.post([MoveLine(stock.products["EYES"], stock.locations["MAIN"], stock.locations["SEWING"], D(4))])
    with stock.site.sessions() as s:
        assert checks.run_all(s) == []
    with stock.site.engine.begin() as conn:  # simulate corruption behind the service's back
        conn.execute(text("UPDATE warehouse_stock_balance SET on_hand = on_hand + 1, reserved = 2"))
    with stock.site.sessions() as s:
        found = checks.run_all(s)
    assert any("on hand 7.0000, ledger sum 6.0000" in m for m in found)
    assert any("reserved 2.0000, open reservations 0" in m for m in found)


def test_demo_data_is_idempotent_and_consistent(wh_site) -> None:
    for _ in range(2):
        with unit_of_work(wh_site.sessions) as s:
            load_demo_data(s)
    with wh_site.sessions() as s:
        assert s.scalar(select(func.count()).select_from(PurchaseOrder)) == 3
        states = sorted(s.scalars(select(PurchaseOrder.state)))
        assert states == ["done", "draft", "received"]
        assert s.scalar(select(func.count()).select_from(StockLedger)) > 0
        assert checks.run_all(s) == []
