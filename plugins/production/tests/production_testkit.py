"""Test helpers of the production plugin: a small factory's master data and the Route 1 BOMs."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from erp_production.bom import create_bom
from erp_production.schemas import BomIn
from erp_warehouse import masterdata
from erp_warehouse.models import StockBalance
from erp_warehouse.schemas import LocationIn, PartnerIn, ProductIn, UnitIn
from erp_warehouse.stock import MoveLine, post_stock_move
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.db import unit_of_work
from kernel.site import Site
from kernel.testing import create_test_user

PLUGINS = ["approval", "warehouse", "production"]
# department, product made, [(component, qty per piece, wastage %)]
ROUTE1_BOMS = [
    ("Cutting", "WIP-CUT", [("FAB", "0.5", "10")]),
    ("Embroidery", "WIP-EMB", [("WIP-CUT", "1", "0"), ("THR", "0.01", "0")]),
    ("Sewing", "WIP-SKIN", [("WIP-EMB", "1", "0"), ("THR", "0.02", "0")]),
    ("Finishing", "WIP-STUFF", [("WIP-SKIN", "1", "0"), ("FILL", "54", "2")]),
    ("Packing", "TEDDY", [("WIP-STUFF", "1", "0"), ("LBL", "1", "0")]),
]


def deliver_and_accept(session: Session, hooks: Any, spk_id: int, qty: str) -> None:
    """Deliver ``qty`` of an SPK's WIP to the next SPK and accept all of it there (user "op")."""
    from erp_production.spk import deliver_wip
    from erp_warehouse.transfers import accept_transfer

    transfer = deliver_wip(session, hooks=hooks, spk_id=spk_id, quantity=Decimal(qty), user="op")
    accept_transfer(session, hooks=hooks, transfer_id=transfer.id, received_qty=Decimal(qty), user="op")


@dataclass
class Factory:
    """Ids of a small factory's master data and helpers to move stock and create users."""

    site: Site
    products: dict[str, int]
    locations: dict[str, int]
    units: dict[str, int]
    supplier_id: int
    users: dict[str, Any] = field(default_factory=dict)

    @property
    def hooks(self) -> Any:
        """The site's hook relay."""
        return self.site.registry.pm.hook

    def session(self) -> Any:
        """A unit of work (commits on exit)."""
        return unit_of_work(self.site.sessions)

    def deliver(self, spk_id: int, qty: str) -> None:
        """Deliver WIP to the next SPK and accept it there."""
        with self.session() as s:
            deliver_and_accept(s, self.hooks, spk_id, qty)

    def stock_in(self, product: str, location: str, qty: str, lot: str | None = None) -> None:
        """Bring stock into a location from the supplier (optionally as a new lot)."""
        from erp_warehouse.models import Lot

        from kernel.clock import utcnow

        with self.session() as s:
            lot_id = None
            if lot is not None:
                row = Lot(
                    code=lot,
                    product_id=self.products[product],
                    received_qty=Decimal(qty),
                    received_at=utcnow(),
                    active=True,
                )
                s.add(row)
                s.flush()
                lot_id = row.id
            line = MoveLine(
                self.products[product],
                self.locations["SUPPLIER"],
                self.locations[location],
                Decimal(qty),
                lot_id=lot_id,
            )
            post_stock_move(s, hooks=self.hooks, lines=[line], reference="OPENING", user="test")

    def on_hand(self, product: str, location: str) -> Decimal:
        """Total on hand of a product at a location (all lots)."""
        with self.session() as s:
            value = s.scalar(
                select(func.coalesce(func.sum(StockBalance.on_hand), 0)).where(
                    StockBalance.product_id == self.products[product],
                    StockBalance.location_id == self.locations[location],
                )
            )
        return Decimal(value)

    def reserved(self, product: str, location: str) -> Decimal:
        """Total reserved of a product at a location."""
        with self.session() as s:
            value = s.scalar(
                select(func.coalesce(func.sum(StockBalance.reserved), 0)).where(
                    StockBalance.product_id == self.products[product],
                    StockBalance.location_id == self.locations[location],
                )
            )
        return Decimal(value)

    def user(self, role: str, department: str | None = None) -> Any:
        """A user with ``role`` (created once per role and department)."""
        key = f"{role}/{department}"
        if key not in self.users:
            self.users[key] = create_test_user(self.site, role, department)[0]
        return self.users[key]


def make_master_data(session: Session) -> dict[str, Any]:
    """Units, products (materials, WIP per step, a finished good), a supplier and the location tree."""
    create = masterdata.create_record
    units = {
        c: create(session, kind="units", data=UnitIn(code=c, name=c)).id
        for c in ("PCS", "M", "G", "CONE", "SET")
    }
    products = {}
    for code, unit, ptype in [
        ("FAB", "M", "raw_material"),
        ("THR", "CONE", "auxiliary"),
        ("FILL", "G", "raw_material"),
        ("LBL", "PCS", "raw_material"),
        ("WIP-CUT", "SET", "wip"),
        ("WIP-EMB", "SET", "wip"),
        ("WIP-SKIN", "PCS", "wip"),
        ("WIP-STUFF", "PCS", "wip"),
        ("TEDDY", "PCS", "finished_good"),
    ]:
        products[code] = create(
            session,
            kind="products",
            data=ProductIn(code=code, name=code.title(), type=ptype, unit_id=units[unit]),
        ).id
    supplier = create(
        session, kind="partners", data=PartnerIn(code="SUP", name="Supplier", kind="supplier")
    ).id
    root = create(session, kind="locations", data=LocationIn(code="ROOT", name="Factory", kind="view")).id
    locations = {}
    for code, kind, dept in [
        ("MAIN", "warehouse", None),
        ("CUTTING", "store", "cutting"),
        ("EMBROIDERY", "store", "embroidery"),
        ("SEWING", "store", "sewing"),
        ("FINISHING", "store", "finishing"),
        ("PACKING", "store", "packing"),
        ("SUBCON", "store", "subcon"),
        ("TRANSIT", "transit", None),
        ("SUPPLIER", "supplier", None),
        ("PRODUCTION", "production", None),
        ("SCRAP", "scrap", None),
    ]:
        data = LocationIn(code=code, name=code.title(), kind=kind, parent_id=root, department=dept)
        locations[code] = create(session, kind="locations", data=data).id
    for department, product, lines in ROUTE1_BOMS:
        create_bom(
            session,
            data=BomIn.model_validate(
                {
                    "product_id": products[product],
                    "department": department,
                    "revision": "A",
                    "lines": [
                        {"component_id": products[c], "quantity": q, "wastage_pct": w} for c, q, w in lines
                    ],
                }
            ),
        )
    return {"units": units, "products": products, "locations": locations, "supplier_id": supplier}
