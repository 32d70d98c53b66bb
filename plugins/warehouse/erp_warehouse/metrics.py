"""Business gauges of the warehouse for /metrics (``erp_metrics`` hook): one cheap aggregate each."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_warehouse.models import Product, StockBalance


def stock_below_minimum(session: Session) -> Iterable[Metric]:
    """Active products whose total on hand (every location) is below their minimum stock.

    Same rule as the inventory report's "below minimum" flag, so the dashboard and report agree.
    """
    totals = (
        select(StockBalance.product_id, func.sum(StockBalance.on_hand).label("on_hand"))
        .group_by(StockBalance.product_id)
        .subquery()
    )
    count = session.scalar(
        select(func.count())
        .select_from(Product)
        .outerjoin(totals, totals.c.product_id == Product.id)
        .where(Product.active.is_(True), func.coalesce(totals.c.on_hand, Decimal(0)) < Product.min_stock)
    )
    yield GaugeMetricFamily(
        "erp_warehouse_products_below_minimum",
        "Active products whose total stock on hand is below their minimum stock.",
        value=float(count or 0),
    )
