"""Read side: stock summary, inventory report (with CSV), lot detail, a product's ledger.

Set-based queries only: each report is one or two SQL statements whatever the number of rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_warehouse.models import Category, Location, Lot, Product, StockBalance, StockLedger
from kernel.errors import NotFound


def stock_summary(
    session: Session,
    *,
    product_id: int | None = None,
    location_id: int | None = None,
    category_id: int | None = None,
    only_available: bool = False,
    below_min: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Balances with product and location codes: on hand, reserved and available, one page.

    ``below_min`` keeps only products whose total on hand (all locations) is below their minimum.
    """
    stmt = (
        select(
            StockBalance.product_id,
            Product.code.label("product_code"),
            StockBalance.location_id,
            Location.code.label("location_code"),
            StockBalance.lot_id,
            Lot.code.label("lot_code"),
            StockBalance.on_hand,
            StockBalance.reserved,
            (StockBalance.on_hand - StockBalance.reserved).label("available"),
        )
        .join(Product, Product.id == StockBalance.product_id)
        .join(Location, Location.id == StockBalance.location_id)
        .outerjoin(Lot, Lot.id == StockBalance.lot_id)
        .where(StockBalance.on_hand != 0)
    )
    if product_id is not None:
        stmt = stmt.where(StockBalance.product_id == product_id)
    if location_id is not None:
        stmt = stmt.where(StockBalance.location_id == location_id)
    if category_id is not None:
        stmt = stmt.where(Product.category_id == category_id)
    if only_available:
        stmt = stmt.where(StockBalance.on_hand > StockBalance.reserved)
    if below_min:
        totals = (
            select(StockBalance.product_id)
            .join(Product, Product.id == StockBalance.product_id)
            .group_by(StockBalance.product_id, Product.min_stock)
            .having(func.sum(StockBalance.on_hand) < Product.min_stock)
        )
        stmt = stmt.where(StockBalance.product_id.in_(totals))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.order_by(Product.code, Location.code, StockBalance.lot_key)
    rows = session.execute(stmt.offset(offset).limit(limit)).mappings()
    return [dict(r) for r in rows], total


@dataclass(frozen=True)
class InventoryRow:
    """One line of the inventory report."""

    product_id: int
    product_code: str
    product_name: str
    category_code: str | None
    location_code: str
    on_hand: Decimal
    reserved: Decimal
    min_stock: Decimal
    product_total: Decimal
    below_minimum: bool


def inventory_report(
    session: Session,
    *,
    category_id: int | None = None,
    location_id: int | None = None,
    below_min: bool = False,
) -> list[InventoryRow]:
    """Quantities by product, location and category; a product whose total is below its minimum is flagged.

    Products with no stock at all appear too (one row, location "-"), since they are the most below.
    """
    per_location = (
        select(
            StockBalance.product_id,
            StockBalance.location_id,
            func.sum(StockBalance.on_hand).label("on_hand"),
            func.sum(StockBalance.reserved).label("reserved"),
        )
        .group_by(StockBalance.product_id, StockBalance.location_id)
        .having(func.sum(StockBalance.on_hand) != 0)
    )
    if location_id is not None:
        per_location = per_location.where(StockBalance.location_id == location_id)
    sub = per_location.subquery()
    totals = (
        select(StockBalance.product_id, func.sum(StockBalance.on_hand).label("total"))
        .group_by(StockBalance.product_id)
        .subquery()
    )
    stmt = (
        select(
            Product.id,
            Product.code,
            Product.name,
            Category.code,
            Location.code,
            sub.c.on_hand,
            sub.c.reserved,
            Product.min_stock,
            totals.c.total,
        )
        .select_from(Product)
        .outerjoin(Category, Category.id == Product.category_id)
        .outerjoin(sub, sub.c.product_id == Product.id)
        .outerjoin(Location, Location.id == sub.c.location_id)
        .outerjoin(totals, totals.c.product_id == Product.id)
        .where(Product.active, Product.type != "service")
        .order_by(Category.code, Product.code, Location.code)
    )
    if category_id is not None:
        stmt = stmt.where(Product.category_id == category_id)
    zero = Decimal(0)
    out = []
    for pid, code, name, cat, loc, on_hand, reserved, min_stock, total in session.execute(stmt).tuples():
        total = total or zero
        out.append(
            InventoryRow(
                product_id=pid,
                product_code=code,
                product_name=name,
                category_code=cat,
                location_code=loc or "-",
                on_hand=on_hand or zero,
                reserved=reserved or zero,
                min_stock=min_stock,
                product_total=total,
                below_minimum=total < min_stock,
            )
        )
    return [r for r in out if r.below_minimum] if below_min else out


def inventory_csv(rows: list[InventoryRow]) -> Iterator[str]:
    """The inventory report as CSV lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["category", "product", "name", "location", "on_hand", "reserved", "product_total", "min_stock"]
    writer.writerow([*header, "below_minimum"])
    for row in rows:
        writer.writerow(
            [
                row.category_code or "",
                row.product_code,
                row.product_name,
                row.location_code,
                row.on_hand,
                row.reserved,
                row.product_total,
                row.min_stock,
                "yes" if row.below_minimum else "no",
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if not rows:
        yield buffer.getvalue()


def product_ledger(
    session: Session, *, product_id: int, location_id: int | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[StockLedger], int]:
    """A product's ledger, newest first (optionally only lines touching one location)."""
    if session.get(Product, product_id) is None:
        raise NotFound(f"product {product_id} does not exist")
    stmt = select(StockLedger).where(StockLedger.product_id == product_id)
    if location_id is not None:
        stmt = stmt.where(
            (StockLedger.from_location_id == location_id) | (StockLedger.to_location_id == location_id)
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(StockLedger.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def lot_detail(session: Session, *, lot_id: int) -> dict[str, Any]:
    """A lot with where it is now (balances) and every move of it (ledger)."""
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"lot {lot_id} does not exist")
    balances = session.execute(
        select(StockBalance.location_id, Location.code, StockBalance.on_hand, StockBalance.reserved)
        .join(Location, Location.id == StockBalance.location_id)
        .where(StockBalance.lot_id == lot_id, StockBalance.on_hand != 0)
        .order_by(Location.code)
    ).tuples()
    moves = session.scalars(select(StockLedger).where(StockLedger.lot_id == lot_id).order_by(StockLedger.id))
    return {
        "lot": lot,
        "balances": [
            {"location_id": loc, "location_code": code, "on_hand": oh, "reserved": rs}
            for loc, code, oh, rs in balances
        ],
        "moves": list(moves),
    }
