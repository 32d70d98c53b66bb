"""Helpers of the quality tests: master data of a small factory and a handle on the test client."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from erp_quality.demo import load_demo_data
from erp_warehouse import masterdata
from erp_warehouse.schemas import CategoryIn, LocationIn, ProductIn, UnitIn
from erp_warehouse.stock import MoveLine, post_stock_move
from fastapi.testclient import TestClient

from kernel.db import unit_of_work
from kernel.site import Site

PLUGINS = ["approval", "warehouse", "production", "quality"]


@dataclass
class Factory:
    """A client, its site and the ids of the master data the tests use."""

    client: TestClient
    site: Site
    products: dict[str, int]
    locations: dict[str, int]
    categories: dict[str, int]
    test_types: dict[str, int]

    def receive(self, product: str, location: str, qty: str) -> None:
        """Bring stock in from the supplier."""
        with unit_of_work(self.site.sessions) as s:
            line = MoveLine(
                self.products[product], self.locations["SUPPLIER"], self.locations[location], Decimal(qty)
            )
            post_stock_move(s, hooks=self.site.registry.pm.hook, lines=[line], reference="TEST-RECEIPT")


def make_factory_data(site: Site) -> dict[str, Any]:
    """A product per stage, department stores, quarantine and scrap, demo categories and lab tests."""
    from erp_quality.models import DefectCategory, LabTestType
    from sqlalchemy import select

    create = masterdata.create_record
    with unit_of_work(site.sessions) as session:
        pcs = create(session, kind="units", data=UnitIn(code="PCS", name="Pieces")).id
        cat = create(session, kind="categories", data=CategoryIn(code="WIP", name="WIP")).id
        products = {
            code: create(
                session,
                kind="products",
                data=ProductIn(code=code, name=code, type="wip", unit_id=pcs, category_id=cat),
            ).id
            for code in ("BEAR-SEWN", "BEAR-DOLL", "BUNNY-DOLL")
        }
        root = create(session, kind="locations", data=LocationIn(code="F", name="Factory", kind="view")).id
        locations = {}
        for code, kind, dept in [
            ("STORE-CUTTING", "store", "Cutting"),
            ("STORE-SEWING", "store", "Sewing"),
            ("STORE-FINISHING", "store", "Finishing"),
            ("STORE-PACKING", "store", "Packing"),
            ("QUARANTINE", "quarantine", None),
            ("SCRAP", "scrap", None),
            ("SUPPLIER", "supplier", None),
        ]:
            data = LocationIn(code=code, name=code, kind=kind, parent_id=root, department=dept)
            locations[code] = create(session, kind="locations", data=data).id
        load_demo_data(session)
        categories = {c.code: c.id for c in session.scalars(select(DefectCategory))}
        test_types = {t.code: t.id for t in session.scalars(select(LabTestType))}
    return {"products": products, "locations": locations, "categories": categories, "test_types": test_types}
