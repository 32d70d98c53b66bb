"""Demo data: a teddy bear with a BOM step per Route 1 department and one MO released."""

from __future__ import annotations

from decimal import Decimal

from erp_warehouse.models import Product, Unit
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_production.bom import create_bom
from erp_production.mo import create_mo, release_mo
from erp_production.models import Bom, ManufacturingOrder
from erp_production.schemas import BomIn, MoIn

WIP = [
    ("WIP-TEDDY-EMB", "Teddy 30 cm, embroidered panels", "SET"),
    ("WIP-TEDDY-STUFFED", "Teddy 30 cm, stuffed body", "PCS"),
]
# department, product, [(component, quantity per piece, wastage %)]
STEPS = [
    ("Cutting", "WIP-TEDDY-CUT", [("FAB-PLUSH-BRN", "0.35", "5"), ("FAB-FELT-BLK", "0.01", "5")]),
    ("Embroidery", "WIP-TEDDY-EMB", [("WIP-TEDDY-CUT", "1", "0"), ("THR-BRN", "0.002", "0")]),
    (
        "Sewing",
        "WIP-TEDDY-SKIN",
        [("WIP-TEDDY-EMB", "1", "0"), ("THR-BRN", "0.01", "2"), ("EYE-12MM", "2", "1")],
    ),
    ("Finishing", "WIP-TEDDY-STUFFED", [("WIP-TEDDY-SKIN", "1", "0"), ("FIL-POLY", "54", "2")]),
    (
        "Packing",
        "TEDDY-30",
        [("WIP-TEDDY-STUFFED", "1", "0"), ("LBL-CARE", "1", "0"), ("LBL-HANG", "1", "0")],
    ),
]


def load_demo_data(session: Session) -> None:
    """Idempotent: WIP products, one BOM per step, MO ``DEMO-TEDDY-001`` released fully."""
    products = {p.code: p for p in session.scalars(select(Product))}
    if "TEDDY-30" not in products:
        return  # the warehouse demo data is missing
    for code, name, unit in WIP:
        if code not in products:
            unit_id = session.scalar(select(Unit.id).where(Unit.code == unit))
            products[code] = Product(
                code=code,
                name=name,
                type="wip",
                unit_id=unit_id or products["TEDDY-30"].unit_id,
                min_stock=Decimal(0),
                active=True,
            )
            session.add(products[code])
    session.flush()
    for department, product, lines in STEPS:
        exists = session.scalar(
            select(Bom.id).where(Bom.product_id == products[product].id, Bom.department == department)
        )
        if exists is None:
            data = BomIn.model_validate(
                {
                    "product_id": products[product].id,
                    "department": department,
                    "revision": "A",
                    "output_qty": Decimal(1),
                    "lines": [
                        {"component_id": products[c].id, "quantity": Decimal(q), "wastage_pct": Decimal(w)}
                        for c, q, w in lines
                    ],
                }
            )
            create_bom(session, user="demo", data=data)
    if (
        session.scalar(
            select(ManufacturingOrder.id).where(ManufacturingOrder.batch_number == "DEMO-TEDDY-001")
        )
        is None
    ):
        mo = create_mo(
            session,
            user="demo",
            data=MoIn(
                product_id=products["TEDDY-30"].id,
                quantity=Decimal(600),
                routing="route1",
                batch_number="DEMO-TEDDY-001",
                week="W05-2026",
                destination="SE",
            ),
        )
        release_mo(session, mo_id=mo.id, level="full", user="demo")
