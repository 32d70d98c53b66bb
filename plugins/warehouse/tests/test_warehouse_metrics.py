"""The warehouse's business gauge on /metrics agrees with the inventory report's "below minimum" flag."""

from __future__ import annotations

from decimal import Decimal

from erp_warehouse.models import Product
from erp_warehouse.reports import inventory_report

from kernel.metrics.exposition import render
from tests.ops.helpers import value


def test_erp_metrics_counts_products_below_minimum(stock) -> None:
    with stock.site.sessions.begin() as session:
        for code, minimum in [("FAB-BROWN", "100"), ("FILL", "50"), ("EYES", "10")]:
            session.get(Product, stock.products[code]).min_stock = Decimal(minimum)
    stock.receive("FAB-BROWN", "MAIN", 60)
    stock.receive("FAB-BROWN", "CUTTING", 50)  # 110 in all: above its minimum of 100
    stock.receive("FILL", "MAIN", 20)  # 20 < 50: below; EYES has none: below
    scraped = value(render(stock.site).decode(), "erp_warehouse_products_below_minimum")
    with stock.site.sessions() as session:
        flagged = {r.product_id for r in inventory_report(session, below_min=True)}
    assert scraped == len(flagged) == 2
    assert flagged == {stock.products["FILL"], stock.products["EYES"]}
