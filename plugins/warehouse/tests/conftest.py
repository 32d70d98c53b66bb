"""Fixtures of the warehouse tests: a site with the plugin, master data to move, a shortfall acceptor."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from erp_warehouse import masterdata
from erp_warehouse.schemas import CategoryIn, LocationIn, PartnerIn, ProductIn, UnitIn
from erp_warehouse.stock import MoveLine, PostedMove, Shortfall, post_stock_move
from sqlalchemy.orm import Session

from kernel.db import unit_of_work
from kernel.plugins import hookimpl
from kernel.site import Site


@dataclass
class Stock:
    """Ids of the master data a test moves stock between."""

    site: Site
    products: dict[str, int]
    locations: dict[str, int]
    supplier_id: int
    units: dict[str, int]

    def post(
        self, lines: list[MoveLine], reference: str = "TEST", session: Session | None = None
    ) -> PostedMove:
        """Post a move in its own transaction (or in ``session``)."""
        if session is not None:
            return post_stock_move(
                session, hooks=self.site.registry.pm.hook, lines=lines, reference=reference
            )
        with unit_of_work(self.site.sessions) as s:
            return post_stock_move(s, hooks=self.site.registry.pm.hook, lines=lines, reference=reference)

    def receive(
        self, product: str, location: str, qty: Decimal | int, lot_id: int | None = None
    ) -> PostedMove:
        """Bring stock in from the supplier location."""
        line = MoveLine(
            product_id=self.products[product],
            from_location_id=self.locations["SUPPLIER"],
            to_location_id=self.locations[location],
            quantity=Decimal(qty),
            lot_id=lot_id,
        )
        return self.post([line], reference="RECEIPT")


def make_master_data(session: Session) -> dict[str, Any]:
    """Units, a category, products, a supplier and the location tree of a small factory."""
    create = masterdata.create_record
    units = {
        code: create(session, kind="units", data=UnitIn(code=code, name=name)).id
        for code, name in [("PCS", "Pieces"), ("M", "Meter"), ("YD", "Yard"), ("ROLL", "Roll"), ("G", "Gram")]
    }
    cat = create(session, kind="categories", data=CategoryIn(code="FABRIC", name="Fabric")).id
    products = {}
    for code, unit, ptype in [
        ("FAB-BROWN", "M", "raw_material"),
        ("FILL", "G", "raw_material"),
        ("EYES", "PCS", "auxiliary"),
        ("WIP-CUT", "PCS", "wip"),
        ("WIP-CUT2", "PCS", "wip"),
    ]:
        product = ProductIn.model_validate(
            {"code": code, "name": code.title(), "type": ptype, "unit_id": units[unit], "category_id": cat}
        )
        products[code] = create(session, kind="products", data=product).id
    supplier = create(
        session, kind="partners", data=PartnerIn(code="SUP1", name="Supplier", kind="supplier")
    ).id
    root = create(session, kind="locations", data=LocationIn(code="WH", name="Factory", kind="view")).id
    locations = {"WH": root}
    for code, kind, dept in [
        ("MAIN", "warehouse", None),
        ("CUTTING", "store", "cutting"),
        ("EMBROIDERY", "store", "embroidery"),
        ("SEWING", "store", "sewing"),
        ("TRANSIT", "transit", None),
        ("SUPPLIER", "supplier", None),
        ("PRODUCTION", "production", None),
        ("SCRAP", "scrap", None),
    ]:
        location = LocationIn.model_validate(
            {"code": code, "name": code.title(), "kind": kind, "parent_id": root, "department": dept}
        )
        locations[code] = create(session, kind="locations", data=location).id
    return {"units": units, "products": products, "locations": locations, "supplier_id": supplier}


@pytest.fixture
def wh_site(make_site: Callable[..., Site]) -> Site:
    """A site with the warehouse plugin on the test database."""
    return make_site(["warehouse"])


@pytest.fixture
def stock(wh_site: Site) -> Stock:
    """Master data committed, ready to move stock."""
    with unit_of_work(wh_site.sessions) as session:
        data = make_master_data(session)
    return Stock(site=wh_site, **data)


class DebtAcceptor:
    """A stand-in for production: accepts every shortfall (thread-safe record of what it accepted)."""

    def __init__(self) -> None:
        self.accepted: list[Shortfall] = []
        self._lock = threading.Lock()

    @hookimpl
    def on_stock_negative(self, session: Session, shortfall: Shortfall) -> bool:
        with self._lock:
            self.accepted.append(shortfall)
        return True


@pytest.fixture
def acceptor(wh_site: Site) -> DebtAcceptor:
    """Register a plugin-like object that accepts every shortfall on the site's plugin manager."""
    obj = DebtAcceptor()
    wh_site.registry.pm.register(obj, name="debt_acceptor")
    return obj


@dataclass
class Api:
    """A started client of an app with the warehouse plugin, master data, and signed-in users by role."""

    client: Any
    site: Site
    products: dict[str, int]
    locations: dict[str, int]
    supplier_id: int
    units: dict[str, int]
    _headers: dict[str, dict[str, str]]
    _login: Callable[..., dict[str, str]]

    def as_(self, role: str) -> dict[str, str]:
        """Authorization headers of a user with ``role`` (one user per role and test)."""
        if role not in self._headers:
            self._headers[role] = self._login(self.client, role)
        return self._headers[role]

    def receive(self, product: str, location: str, qty: int | str) -> None:
        """Bring stock in from the supplier location (service level, its own transaction)."""
        with unit_of_work(self.site.sessions) as s:
            post_stock_move(
                s,
                hooks=self.site.registry.pm.hook,
                lines=[
                    MoveLine(
                        self.products[product],
                        self.locations["SUPPLIER"],
                        self.locations[location],
                        Decimal(qty),
                    )
                ],
                reference="RECEIPT",
            )


@pytest.fixture
def api(make_client: Callable[..., Any], auth_headers: Callable[..., dict[str, str]]) -> Api:
    """The warehouse API with the small factory's master data."""
    client = make_client(["warehouse"])
    site: Site = client.app.state.site
    with unit_of_work(site.sessions) as session:
        data = make_master_data(session)
    return Api(client=client, site=site, _headers={}, _login=auth_headers, **data)
