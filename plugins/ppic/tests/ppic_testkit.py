"""Helpers of the PPIC tests: the production testkit's Route 1 factory plus a customer, POs, inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from erp_production import daily
from erp_warehouse import masterdata, purchasing
from erp_warehouse.schemas import PartnerIn, PoIn, ReceiptLineIn
from production_testkit import deliver_and_accept, make_master_data

from kernel.db import unit_of_work
from kernel.site import Site

PLUGINS = ["approval", "warehouse", "production", "quality", "ppic"]
API = "/api/v1/ppic"
D = Decimal


def make_ppic_data(site: Site) -> dict[str, Any]:
    """The production testkit's master data and BOMs, plus a customer."""
    with unit_of_work(site.sessions) as session:
        data = make_master_data(session)
        data["customer_id"] = masterdata.create_record(
            session, kind="partners", data=PartnerIn(code="CUST", name="Nordic retailer", kind="customer")
        ).id
    return data


@dataclass
class Ppic:
    """A client, its site, master data ids and service-level helpers (POs, inputs, transfers)."""

    client: Any
    site: Site
    products: dict[str, int]
    locations: dict[str, int]
    units: dict[str, int]
    supplier_id: int
    customer_id: int
    login: Callable[..., dict[str, str]]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def hooks(self) -> Any:
        """The site's hook relay."""
        return self.site.registry.pm.hook

    def session(self) -> Any:
        """A unit of work (commits on exit)."""
        return unit_of_work(self.site.sessions)

    def as_(self, role: str) -> dict[str, str]:
        """Authorization headers of a user with ``role`` (one per role)."""
        if role not in self.headers:
            self.headers[role] = self.login(self.client, role)
        return self.headers[role]

    def sent_po(
        self,
        po_type: str,
        product: str,
        qty: str,
        location: str,
        *,
        week: str | None = None,
        destination: str | None = None,
        expected: Any = None,
        supplier_id: int | None = None,
    ) -> int:
        """Create and send a one-line purchase order; returns its id."""
        return sent_po(
            self.site,
            po_type=po_type,
            product_id=self.products[product],
            qty=qty,
            location_id=self.locations[location],
            supplier_id=supplier_id or self.supplier_id,
            week=week,
            destination=destination,
            expected=expected,
        )

    def receive(self, po_id: int, qty: str | None = None) -> None:
        """Receive a PO's single line (all of it by default) through the warehouse service."""
        receive(self.site, po_id, qty)

    def input(
        self, spk_id: int, day: int, good: str, defect: str = "0", rework: str = "0", user: str = "op"
    ) -> None:
        """Post a daily input ``day`` days ago (``user`` must exist when the input runs into debt)."""
        with self.session() as s:
            daily.post_daily_input(
                s,
                hooks=self.hooks,
                spk_id=spk_id,
                work_date=daily.site_today(s) - timedelta(days=day),
                good=D(good),
                defect=D(defect),
                rework=D(rework),
                user=user,
            )

    def deliver(self, spk_id: int, qty: str) -> None:
        """Deliver WIP to the next SPK and accept it there."""
        with self.session() as s:
            deliver_and_accept(s, self.hooks, spk_id, qty)


def sent_po(
    site: Site,
    *,
    po_type: str,
    product_id: int,
    qty: str,
    location_id: int,
    supplier_id: int,
    week: str | None = None,
    destination: str | None = None,
    expected: Any = None,
) -> int:
    """Create and send a one-line purchase order (service level); returns its id."""
    with unit_of_work(site.sessions) as s:
        po = purchasing.create_po(
            s,
            data=PoIn.model_validate(
                {
                    "po_type": po_type,
                    "supplier_id": supplier_id,
                    "location_id": location_id,
                    "week": week,
                    "destination": destination,
                    "expected_date": expected,
                    "lines": [{"product_id": product_id, "quantity": D(qty), "price": D(1000)}],
                }
            ),
            user="purchasing",
        )
        purchasing.send_po(s, po_id=po.id, user="purchasing")
        return po.id


def receive(site: Site, po_id: int, qty: str | None = None) -> None:
    """Receive a PO's single line (all of it by default)."""
    with unit_of_work(site.sessions) as s:
        [line] = purchasing.po_lines(s, po_id=po_id)
        purchasing.receive_po(
            s,
            hooks=site.registry.pm.hook,
            po_id=po_id,
            lines=[ReceiptLineIn(line_id=line.id, quantity=D(qty) if qty else line.quantity)],
            user="warehouse",
        )
