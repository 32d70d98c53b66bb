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


def make_spk(
    site: Site, *, product_id: int, store_id: int, department: str = "Packing", good: str = "50"
) -> int:
    """An MO with one SPK in progress that produced ``good`` units (rows written directly: the
    production plugin's own tests cover how SPKs come to be); returns the SPK id."""
    from datetime import date

    from erp_production.models import Bom, DailyInput, ManufacturingOrder, Spk
    from sqlalchemy import func, select

    with unit_of_work(site.sessions) as session:
        n = (session.scalar(select(func.count(ManufacturingOrder.id))) or 0) + 1
        bom = Bom(product_id=product_id, department=department, revision=f"R{n}", output_qty=Decimal(1))
        mo = ManufacturingOrder(
            number=f"MO-{n}",
            product_id=product_id,
            quantity=Decimal(good),
            routing="route2",
            batch_number=f"BATCH-{n}",
            state="in_progress",
            release_level="partial",
        )
        session.add_all([bom, mo])
        session.flush()
        spk = Spk(
            number=f"SPK-{n}",
            mo_id=mo.id,
            department=department,
            sequence=4,
            bom_id=bom.id,
            product_id=product_id,
            store_location_id=store_id,
            target=Decimal(good),
            state="in_progress",
        )
        session.add(spk)
        session.flush()
        session.add(
            DailyInput(
                spk_id=spk.id,
                work_date=date(2026, 1, 5),
                good=Decimal(good),
                defect=Decimal(2),
                rework=Decimal(0),
            )
        )
        return spk.id


def complete_spk(site: Site, spk_id: int) -> None:
    """Complete an SPK through the production plugin's service (which emits ``spk_completed``)."""
    from erp_production.spk import complete_spk as complete

    with unit_of_work(site.sessions) as session:
        complete(session, spk_id=spk_id, user="test")
