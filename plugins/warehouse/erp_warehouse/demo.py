"""Demo data (``erp demo``): what the warehouse of a teddy-bear factory holds on a normal day.

Idempotent: every record is looked up by its natural key (code, or a PO's note) before it is created.
Stock enters only through postings (receipts of demo POs, an opening count), so the ledger explains it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pluggy
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_warehouse import hookspecs, purchasing
from erp_warehouse.models import (
    Category,
    Location,
    Partner,
    Product,
    PurchaseOrder,
    StockMove,
    Unit,
    UnitConversion,
)
from erp_warehouse.schemas import PoIn, PoLineIn, ReceiptLineIn
from erp_warehouse.stock import MoveLine, post_stock_move
from kernel.clock import utcnow

UNITS = [
    ("PCS", "Pieces"),
    ("M", "Meter"),
    ("YD", "Yard"),
    ("KG", "Kilogram"),
    ("ROLL", "Roll"),
    ("CM", "Centimeter"),
    ("G", "Gram"),
    ("CTN", "Carton"),
    ("BOX", "Box"),
    ("CONE", "Cone"),
    ("PACK", "Pack"),
    ("SET", "Set"),
    ("L", "Liter"),
    ("SHEET", "Sheet"),
    ("DOZ", "Dozen"),
    ("BALL", "Ball"),
]
CATEGORIES = [
    ("FABRIC", "Fabric (kain)"),
    ("FILLING", "Filling"),
    ("THREAD", "Thread"),
    ("ACCESSORY", "Accessories"),
    ("LABEL", "Labels"),
    ("PACKAGING", "Packaging"),
    ("WIP", "Work in progress"),
    ("FG", "Finished goods"),
]
# code, name, type, stock unit, category, minimum stock, pieces per carton, cartons per pallet
PRODUCTS: list[tuple[str, str, str, str, str, str, int | None, int | None]] = [
    ("FAB-PLUSH-BRN", "Plush fabric, brown", "raw_material", "M", "FABRIC", "300", None, None),
    ("FAB-FELT-BLK", "Felt, black (nose)", "raw_material", "M", "FABRIC", "20", None, None),
    ("FIL-POLY", "Polyester fibre filling", "raw_material", "G", "FILLING", "50000", None, None),
    ("THR-BRN", "Sewing thread, brown", "auxiliary", "CONE", "THREAD", "40", None, None),
    ("EYE-12MM", "Safety eyes 12 mm", "raw_material", "PCS", "ACCESSORY", "2000", None, None),
    ("LBL-CARE", "Care label", "raw_material", "PCS", "LABEL", "1000", None, None),
    ("LBL-HANG", "Hang tag", "raw_material", "PCS", "LABEL", "1000", None, None),
    ("CTN-60", "Carton for 60 pieces", "auxiliary", "PCS", "PACKAGING", "50", None, None),
    ("WIP-TEDDY-CUT", "Teddy 30 cm, cut panels", "wip", "SET", "WIP", "0", None, None),
    ("WIP-TEDDY-SKIN", "Teddy 30 cm, sewn skin", "wip", "PCS", "WIP", "0", None, None),
    ("TEDDY-30", "Teddy bear 30 cm", "finished_good", "PCS", "FG", "0", 60, 8),
]
DEPARTMENTS = ["cutting", "embroidery", "subcon", "sewing", "finishing", "packing"]
PARTNERS = [
    ("SUP-TEXTIL", "PT Textil Nusantara", "supplier"),
    ("SUP-AKSES", "CV Aksesoris Mainan", "supplier"),
    ("SUB-JAHIT", "CV Jahit Bersama (subcon sewing)", "subcontractor"),
    ("CUST-NORD", "Nordic home furnishing retailer", "customer"),
]


def _get_or_add(session: Session, model: Any, code: str, **values: Any) -> Any:
    record = session.scalar(select(model).where(model.code == code))
    if record is None:
        record = model(code=code, **values)
        session.add(record)
        session.flush()
    return record


def _hooks() -> pluggy.HookRelay:
    # Demo receipts happen before any other plugin has data to react with (no debts exist yet), so an
    # empty relay over the warehouse's own specs stands in for the site's.
    pm = pluggy.PluginManager("erp")
    pm.add_hookspecs(hookspecs)
    return pm.hook


def load_demo_data(session: Session) -> None:
    """Master data of a teddy-bear factory, an opening stock count and a few purchase orders."""
    units = {code: _get_or_add(session, Unit, code, name=name, active=True).id for code, name in UNITS}
    cats = {
        code: _get_or_add(session, Category, code, name=name, active=True).id for code, name in CATEGORIES
    }
    products = {}
    for code, name, ptype, unit, cat, minimum, per_carton, per_pallet in PRODUCTS:
        products[code] = _get_or_add(
            session,
            Product,
            code,
            name=name,
            type=ptype,
            unit_id=units[unit],
            category_id=cats[cat],
            min_stock=Decimal(minimum),
            pcs_per_carton=per_carton,
            cartons_per_pallet=per_pallet,
            active=True,
        ).id
    partners = {
        code: _get_or_add(session, Partner, code, name=name, kind=kind, active=True).id
        for code, name, kind in PARTNERS
    }
    root = _get_or_add(session, Location, "FACTORY", name="Factory", kind="view", active=True)
    locations = {"FACTORY": root.id}
    specs = [
        ("WH-MAIN", "Main material warehouse", "warehouse", None),
        ("WH-FG", "Finished-goods warehouse", "warehouse", None),
        ("QUARANTINE", "Quarantine", "quarantine", None),
        ("TRANSIT", "Between departments", "transit", None),
        ("SUPPLIERS", "Suppliers", "supplier", None),
        ("CUSTOMERS", "Customers", "customer", None),
        ("PRODUCTION", "Production (consumed)", "production", None),
        ("SCRAP", "Inventory loss", "scrap", None),
    ] + [(f"STORE-{d.upper()}", f"{d.title()} store", "store", d) for d in DEPARTMENTS]
    for code, name, kind, dept in specs:
        locations[code] = _get_or_add(
            session, Location, code, name=name, kind=kind, parent_id=root.id, department=dept, active=True
        ).id
    if session.scalar(select(UnitConversion.id).limit(1)) is None:
        fabric = products["FAB-PLUSH-BRN"]
        for product_id, src, dst, factor in (
            (None, "YD", "M", "0.9144"),
            (None, "KG", "G", "1000"),
            (fabric, "ROLL", "M", "50"),  # a roll of this plush is 50 m
        ):
            conversion = UnitConversion(
                product_id=product_id,
                product_key=product_id or 0,
                from_unit_id=units[src],
                to_unit_id=units[dst],
                factor=Decimal(factor),
            )
            session.add(conversion)
        session.flush()
    hooks = _hooks()
    if session.scalar(select(StockMove.id).where(StockMove.reference == "DEMO-OPENING").limit(1)) is None:
        opening = [("THR-BRN", "26"), ("EYE-12MM", "1500"), ("CTN-60", "120"), ("FAB-FELT-BLK", "35.5")]
        lines = [
            MoveLine(products[c], locations["SUPPLIERS"], locations["WH-MAIN"], Decimal(q))
            for c, q in opening
        ]
        post_stock_move(session, hooks=hooks, lines=lines, reference="DEMO-OPENING", user="demo")
    _demo_pos(session, hooks, units, products, partners, locations)


def _demo_pos(
    session: Session,
    hooks: pluggy.HookRelay,
    units: dict[str, int],
    products: dict[str, int],
    partners: dict[str, int],
    locations: dict[str, int],
) -> None:
    today = utcnow().date()
    orders: list[tuple[str, str, str, list[tuple[str, str, str, str]], dict[str, str]]] = [
        (
            "demo: plush fabric, 4 rolls",
            "fabric",
            "SUP-TEXTIL",
            [("FAB-PLUSH-BRN", "4", "ROLL", "1850000")],
            {},
        ),
        (
            "demo: filling and eyes",
            "accessories",
            "SUP-AKSES",
            [("FIL-POLY", "120", "KG", "38000"), ("EYE-12MM", "5000", "PCS", "350")],
            {},
        ),
        (
            "demo: labels W05-2026 SE",
            "label",
            "SUP-AKSES",
            [("LBL-CARE", "3000", "PCS", "120"), ("LBL-HANG", "3000", "PCS", "450")],
            {"week": "W05-2026", "destination": "SE"},
        ),
    ]
    for note, po_type, supplier, lines, extra in orders:
        if session.scalar(select(PurchaseOrder.id).where(PurchaseOrder.note == note)) is not None:
            continue
        data = PoIn.model_validate(
            {
                "po_type": po_type,
                "supplier_id": partners[supplier],
                "location_id": locations["WH-MAIN"],
                "expected_date": today + timedelta(days=5),
                "note": note,
                "lines": [
                    PoLineIn(
                        product_id=products[c], quantity=Decimal(q), unit_id=units[u], price=Decimal(price)
                    )
                    for c, q, u, price in lines
                ],
                **extra,
            }
        )
        po = purchasing.create_po(session, data=data, user="demo")
        if po_type == "label":
            continue  # stays Draft, waiting for approval
        purchasing.send_po(session, po_id=po.id, user="demo")
        po_lines = purchasing.po_lines(session, po_id=po.id)
        # The fabric arrives in part (3 of 4 rolls, one lot per roll); accessories arrive complete.
        receipt = (
            [
                ReceiptLineIn(line_id=po_lines[0].id, quantity=Decimal(1), lot_code=f"ROLL-{n}")
                for n in (1, 2, 3)
            ]
            if po_type == "fabric"
            else [
                ReceiptLineIn(line_id=x.id, quantity=x.quantity, lot_code=f"{po.number}-{x.line_no}")
                for x in po_lines
            ]
        )
        purchasing.receive_po(session, hooks=hooks, po_id=po.id, lines=receipt, user="demo")
