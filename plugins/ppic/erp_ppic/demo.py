"""Demo data: two buyer orders for the teddy bear, one confirmed with two MOs planned from it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from erp_production.models import Bom
from erp_warehouse.models import Partner, Product
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_ppic.models import SalesOrder
from erp_ppic.planning import plan_mo
from erp_ppic.sales import create_so, so_lines, transition
from erp_ppic.schemas import PlanMoIn, SoIn


def load_demo_data(session: Session) -> None:
    """Idempotent (looked up by buyer PO number); needs the warehouse and production demo data."""
    product = session.scalar(select(Product).where(Product.code == "TEDDY-30"))
    customer = session.scalar(select(Partner).where(Partner.code == "CUST-NORD"))
    if (
        product is None
        or customer is None
        or session.scalar(select(Bom.id).where(Bom.product_id == product.id)) is None
    ):
        return
    if session.scalar(select(SalesOrder.id).where(SalesOrder.buyer_po_number == "NORD-4500012345")) is None:
        so = create_so(
            session,
            user="demo",
            data=SoIn(
                buyer_po_number="NORD-4500012345",
                customer_id=customer.id,
                order_date=date(2026, 1, 12),
                delivery_week="W07-2026",
                destination="SE",
                lines=[{"product_id": product.id, "quantity": Decimal(1200)}],  # type: ignore[list-item]
            ),
        )
        transition(session, so_id=so.id, action="confirm", user="demo")
        line = so_lines(session, so_id=so.id)[0]
        for n in (1, 2):
            plan_mo(
                session,
                user="demo",
                data=PlanMoIn(
                    so_line_id=line.id,
                    quantity=Decimal(600),
                    routing="route1",
                    batch_number=f"DEMO-PPIC-{n:03d}",
                    planned_start=date(2026, 1, 19),
                    planned_end=date(2026, 2, 6),
                ),
            )
    if session.scalar(select(SalesOrder.id).where(SalesOrder.buyer_po_number == "NORD-4500012399")) is None:
        create_so(
            session,
            user="demo",
            data=SoIn(
                buyer_po_number="NORD-4500012399",
                customer_id=customer.id,
                order_date=date(2026, 1, 26),
                delivery_week="W10-2026",
                destination="DE",
                lines=[{"product_id": product.id, "quantity": Decimal(900)}],  # type: ignore[list-item]
            ),
        )
