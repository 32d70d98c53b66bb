"""Material requirements planning over the open MOs (Draft, Released, In progress).

1. Explode, per MO, what is still to make, level by level through the active BOMs: the MO's product
   needs its quantity minus what the MO has of it; a component made in-house (it has an active BOM)
   needs its gross quantity minus the MO's own stock of that WIP (its SPKs' good output of it minus
   what later SPKs consumed of it), and is exploded further; a component without an active BOM is a
   purchased material. The MO's open reservations of a material count as already covered.
2. Sum purchased materials per planning week (the MO's week, else its planned end's ISO week).
3. Net each material week by week, in week order: start from free stock (on hand minus reserved in the
   warehouse and department stores; quarantine and transit do not count), add open purchase order
   quantities (Sent or partly Received, not yet received) in their week (the PO's week, else its
   expected date's; neither: available from the first week), subtract the week's requirement. A
   negative balance is a shortage in that week; the balance restarts at zero (the shortage is bought).
4. Suggested purchase = the shortage rounded up to a whole stock unit (master data has no order
   multiples), grouped by supplier: the supplier of the most recent non-cancelled PO of the material,
   else ``unassigned`` (products carry no supplier link in the warehouse's master data).

Set-based: a fixed number of queries whatever the number of MOs, then arithmetic in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from erp_production.bom import MAX_LEVELS, per_unit_requirements
from erp_production.models import (
    ROUTINGS,
    Allocation,
    Bom,
    BomLine,
    BomVariant,
    Consumption,
    DailyInput,
    ManufacturingOrder,
    Spk,
)
from erp_warehouse.models import (
    Location,
    Partner,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    StockBalance,
    StockReservation,
)
from erp_warehouse.quantities import round_quantity
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_ppic.reports import to_csv
from erp_ppic.weeks import iso_week, week_of, week_sort_key
from kernel.errors import Conflict

ZERO = Decimal(0)
OPEN_MO_STATES = ("draft", "released", "in_progress")
OPEN_PO_STATES = ("sent", "received")
STOCK_KINDS = ("warehouse", "store")
UNASSIGNED = "unassigned"
MRP_COLUMNS = (
    "supplier",
    "product_code",
    "week",
    "required",
    "available_before",
    "incoming",
    "shortage",
    "suggested_qty",
)


@dataclass(frozen=True)
class OpenMo:
    """What MRP needs of an open MO."""

    id: int
    product_id: int
    quantity: Decimal
    routing: str
    week: str


class BomBook:
    """Every active BOM's per-unit requirements, loaded in three queries."""

    def __init__(self, session: Session) -> None:
        boms = list(
            session.execute(select(Bom.id, Bom.product_id, Bom.department, Bom.output_qty).where(Bom.active))
        )
        lines: dict[int, list[BomLine]] = defaultdict(list)
        for line in session.scalars(
            select(BomLine).join(Bom, Bom.id == BomLine.bom_id).where(Bom.active).order_by(BomLine.line_no)
        ):
            lines[line.bom_id].append(line)
        variants: dict[int, list[BomVariant]] = defaultdict(list)
        for variant in session.scalars(
            select(BomVariant)
            .join(BomLine, BomLine.id == BomVariant.line_id)
            .join(Bom, Bom.id == BomLine.bom_id)
            .where(Bom.active)
            .order_by(BomVariant.id)
        ):
            variants[variant.line_id].append(variant)
        self._by_product: dict[int, list[tuple[int, str]]] = defaultdict(list)
        self._per_unit: dict[int, dict[int, Decimal]] = {}
        for bom_id, product_id, department, output_qty in sorted(boms):
            self._by_product[product_id].append((bom_id, department))
            self._per_unit[bom_id] = per_unit_requirements(
                output_qty=output_qty, lines=[(x, variants[x.id]) for x in lines[bom_id]]
            )

    def per_unit(self, product_id: int, routing: str) -> dict[int, Decimal] | None:
        """Components per unit of the product's active BOM (one at a department of the routing when it
        has several), or None for a purchased material."""
        found = self._by_product.get(product_id)
        if not found:
            return None
        on_route = [bom_id for bom_id, dept in found if dept in ROUTINGS.get(routing, ())]
        return self._per_unit[(on_route or [found[0][0]])[0]]


def _by_mo_product(rows: Any) -> dict[tuple[int, int], Decimal]:
    return {(mo_id, product_id): Decimal(q) for mo_id, product_id, q in rows}


def gross_requirements(session: Session) -> tuple[list[OpenMo], dict[int, dict[str, Decimal]]]:
    """The open MOs and, per purchased material, the requirement per week (rounded to 4 places)."""
    mos = [
        OpenMo(i, p, q, r, week_of(w, end))
        for i, p, q, r, w, end in session.execute(
            select(
                ManufacturingOrder.id,
                ManufacturingOrder.product_id,
                ManufacturingOrder.quantity,
                ManufacturingOrder.routing,
                ManufacturingOrder.week,
                ManufacturingOrder.planned_end,
            )
            .where(ManufacturingOrder.state.in_(OPEN_MO_STATES))
            .order_by(ManufacturingOrder.id)
        ).tuples()
    ]
    open_ids = select(ManufacturingOrder.id).where(ManufacturingOrder.state.in_(OPEN_MO_STATES))
    good = _by_mo_product(
        session.execute(
            select(Spk.mo_id, Spk.product_id, func.sum(DailyInput.good))
            .join(DailyInput, DailyInput.spk_id == Spk.id)
            .where(Spk.mo_id.in_(open_ids))
            .group_by(Spk.mo_id, Spk.product_id)
        ).tuples()
    )
    used = _by_mo_product(
        session.execute(
            select(Spk.mo_id, Consumption.product_id, func.sum(Consumption.quantity))
            .join(Spk, Spk.id == Consumption.spk_id)
            .where(Spk.mo_id.in_(open_ids))
            .group_by(Spk.mo_id, Consumption.product_id)
        ).tuples()
    )
    held = _by_mo_product(
        session.execute(
            select(Spk.mo_id, StockReservation.product_id, func.sum(StockReservation.quantity))
            .join(Allocation, Allocation.reservation_id == StockReservation.id)
            .join(Spk, Spk.id == Allocation.spk_id)
            .where(Spk.mo_id.in_(open_ids), StockReservation.quantity > 0)
            .group_by(Spk.mo_id, StockReservation.product_id)
        ).tuples()
    )
    own_by_mo: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for (mo_id, product_id), qty in good.items():
        own_by_mo[mo_id][product_id] = qty - used.get((mo_id, product_id), ZERO)
    book = BomBook(session)
    weekly: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for mo in mos:
        own = own_by_mo.get(mo.id, {})
        level: dict[int, Decimal] = {mo.product_id: mo.quantity}
        leaves: dict[int, Decimal] = defaultdict(lambda: ZERO)
        depth = 0
        while level:
            depth += 1
            if depth > MAX_LEVELS:
                raise Conflict(f"BOM explosion deeper than {MAX_LEVELS} levels; check the BOMs for a cycle")
            below: dict[int, Decimal] = defaultdict(lambda: ZERO)
            for product_id, demand in level.items():
                per_unit = book.per_unit(product_id, mo.routing)
                if per_unit is None:
                    leaves[product_id] += demand
                    continue
                stock = max(own.get(product_id, ZERO), ZERO)
                net = max(demand - stock, ZERO)
                own[product_id] = stock - (demand - net)
                for component, qty in per_unit.items():
                    below[component] += net * qty
            level = {p: q for p, q in below.items() if q > 0}
        for product_id, qty in leaves.items():
            covered = held.get((mo.id, product_id), ZERO)
            if qty > covered:
                weekly[product_id][mo.week] += qty - covered
    return mos, {p: {w: round_quantity(q) for w, q in by_week.items()} for p, by_week in weekly.items()}


def material_requirements(session: Session) -> dict[str, Any]:
    """Shortages of the open MOs' materials by week, with suggested purchases per supplier."""
    mos, weekly = gross_requirements(session)
    products = list(weekly)
    free: dict[int, Decimal] = defaultdict(lambda: ZERO)
    incoming: dict[int, dict[str | None, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    codes: dict[int, str] = {}
    if products:
        for product_id, qty in session.execute(
            select(StockBalance.product_id, func.sum(StockBalance.on_hand - StockBalance.reserved))
            .join(Location, Location.id == StockBalance.location_id)
            .where(StockBalance.product_id.in_(products), Location.kind.in_(STOCK_KINDS))
            .group_by(StockBalance.product_id)
        ).tuples():
            free[product_id] = Decimal(qty)
        for product_id, week, expected, qty in session.execute(
            select(
                PurchaseOrderLine.product_id,
                PurchaseOrder.week,
                PurchaseOrder.expected_date,
                func.sum(PurchaseOrderLine.stock_qty - PurchaseOrderLine.received_qty),
            )
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .where(PurchaseOrderLine.product_id.in_(products), PurchaseOrder.state.in_(OPEN_PO_STATES))
            .group_by(PurchaseOrderLine.product_id, PurchaseOrder.week, PurchaseOrder.expected_date)
        ).tuples():
            arrives = week or (iso_week(expected) if expected else None)
            incoming[product_id][arrives] += Decimal(qty)
        codes = dict(
            session.execute(select(Product.id, Product.code).where(Product.id.in_(products))).tuples().all()
        )
    shortages: list[dict[str, Any]] = []
    for product_id in products:
        demand = weekly[product_id]
        supply = incoming[product_id]
        weeks = sorted({*demand, *(w for w in supply if w is not None)}, key=week_sort_key)
        balance = free[product_id] + supply.get(None, ZERO)
        for week in weeks:
            before = balance
            balance += supply.get(week, ZERO)
            balance -= demand.get(week, ZERO)
            if balance < 0:
                shortages.append(
                    {
                        "product_id": product_id,
                        "product_code": codes.get(product_id, str(product_id)),
                        "week": week,
                        "required": demand.get(week, ZERO),
                        "available_before": before,
                        "incoming": supply.get(week, ZERO),
                        "shortage": -balance,
                        "suggested_qty": (-balance).to_integral_value(rounding=ROUND_CEILING),
                    }
                )
                balance = ZERO
    _assign_suppliers(session, shortages)
    shortages.sort(key=lambda s: (week_sort_key(s["week"]), s["product_code"]))
    groups: dict[tuple[str, int | None], list[dict[str, Any]]] = defaultdict(list)
    for row in shortages:
        groups[(row["supplier"], row["supplier_id"])].append(row)
    weeks_seen = sorted({mo.week for mo in mos}, key=week_sort_key)
    return {
        "mos": len(mos),
        "weeks": weeks_seen,
        "materials": len(products),
        "shortages": shortages,
        "by_supplier": [
            {"supplier_id": sid, "supplier": name, "lines": rows}
            for (name, sid), rows in sorted(groups.items(), key=lambda kv: (kv[0][0] == UNASSIGNED, kv[0][0]))
        ],
    }


def _assign_suppliers(session: Session, shortages: list[dict[str, Any]]) -> None:
    """The supplier of each shortage's material: that of its most recent non-cancelled PO."""
    wanted = {s["product_id"] for s in shortages}
    latest: dict[int, tuple[int | None, str]] = {}
    if wanted:
        for product_id, supplier_id, name in session.execute(
            select(PurchaseOrderLine.product_id, Partner.id, Partner.name)
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .join(Partner, Partner.id == PurchaseOrder.supplier_id)
            .where(PurchaseOrderLine.product_id.in_(wanted), PurchaseOrder.state != "cancelled")
            .order_by(PurchaseOrder.id)
        ).tuples():
            latest[product_id] = (supplier_id, name)
    for row in shortages:
        row["supplier_id"], row["supplier"] = latest.get(row["product_id"], (None, UNASSIGNED))


def mrp_csv(result: dict[str, Any]) -> Iterator[str]:
    """The suggested purchases as CSV, grouped by supplier."""
    rows = [row for group in result["by_supplier"] for row in group["lines"]]
    return to_csv(rows, MRP_COLUMNS)
