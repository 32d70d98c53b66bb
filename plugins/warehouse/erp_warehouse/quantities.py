"""Quantity rules shared by every service: exact decimals with at most four places, never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PLACES = 4
STEP = Decimal(1).scaleb(-PLACES)
MAX = Decimal(10) ** (18 - PLACES)


def check_quantity(value: object, *, positive: bool = False) -> Decimal:
    """Return ``value`` as a Decimal, or raise ValueError saying why it is not a valid quantity.

    Floats are refused (they are not exact); more than four decimal places are refused rather than
    silently truncated.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValueError("must be a decimal number")
    qty = Decimal(value)
    if not qty.is_finite():
        raise ValueError("must be a finite number")
    if qty != qty.quantize(STEP):
        raise ValueError(f"at most {PLACES} decimal places")
    if abs(qty) >= MAX:
        raise ValueError("too large")
    if positive and qty <= 0:
        raise ValueError("must be greater than zero")
    if qty < 0:
        raise ValueError("must not be negative")
    return qty


def round_quantity(value: Decimal) -> Decimal:
    """Round a computed quantity (a unit conversion) half-up to the stored four places."""
    return value.quantize(STEP, rounding=ROUND_HALF_UP)
