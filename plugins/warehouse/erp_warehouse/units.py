"""Unit conversions: a PO buys fabric in rolls or yards, stock counts it in meters."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_warehouse.models import Product, Unit, UnitConversion
from erp_warehouse.quantities import round_quantity
from erp_warehouse.schemas import UnitConversionIn
from kernel.errors import Conflict, ValidationFailed


def create_conversion(session: Session, *, data: UnitConversionIn) -> UnitConversion:
    """Declare ``1 from_unit = factor to_unit`` (for all products, or one)."""
    errors = []
    for name in ("from_unit_id", "to_unit_id"):
        if session.get(Unit, getattr(data, name)) is None:
            errors.append({"field": name, "message": "unknown unit"})
    if data.product_id is not None and session.get(Product, data.product_id) is None:
        errors.append({"field": "product_id", "message": "unknown product"})
    if data.from_unit_id == data.to_unit_id:
        errors.append({"field": "to_unit_id", "message": "must differ from from_unit_id"})
    if errors:
        raise ValidationFailed("invalid unit conversion", errors=errors)
    product_key = data.product_id or 0
    exists = session.scalar(
        select(UnitConversion.id).where(
            UnitConversion.product_key == product_key,
            UnitConversion.from_unit_id == data.from_unit_id,
            UnitConversion.to_unit_id == data.to_unit_id,
        )
    )
    if exists is not None:
        raise Conflict("this conversion already exists")
    conversion = UnitConversion(**data.model_dump(), product_key=product_key)
    session.add(conversion)
    session.flush()
    return conversion


def conversion_factor(session: Session, *, product_id: int, from_unit_id: int, to_unit_id: int) -> Decimal:
    """How many ``to_unit`` one ``from_unit`` is for this product (product-specific first, then general).

    A conversion declared the other way round is used inverted. Raises ValidationFailed when none exists.
    """
    if from_unit_id == to_unit_id:
        return Decimal(1)
    for product_key in (product_id, 0):
        for src, dst, invert in ((from_unit_id, to_unit_id, False), (to_unit_id, from_unit_id, True)):
            factor = session.scalar(
                select(UnitConversion.factor).where(
                    UnitConversion.product_key == product_key,
                    UnitConversion.from_unit_id == src,
                    UnitConversion.to_unit_id == dst,
                )
            )
            if factor is not None:
                return Decimal(1) / factor if invert else factor
    raise ValidationFailed(
        "no conversion between these units for this product",
        errors=[{"field": "unit_id", "message": "no conversion to the product's stock unit"}],
    )


def to_stock_unit(session: Session, *, product: Product, quantity: Decimal, unit_id: int) -> Decimal:
    """``quantity`` in ``unit_id`` expressed in the product's stock unit (rounded to 4 places)."""
    factor = conversion_factor(
        session, product_id=product.id, from_unit_id=unit_id, to_unit_id=product.unit_id
    )
    return round_quantity(quantity * factor)


def list_conversions(
    session: Session, *, product_id: int | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[UnitConversion], int]:
    """Unit conversions (general and product-specific, or only one product's), by id."""
    from sqlalchemy import func

    stmt = select(UnitConversion)
    if product_id is not None:
        stmt = stmt.where(UnitConversion.product_id == product_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(UnitConversion.id).offset(offset).limit(limit))
    return list(rows), total
