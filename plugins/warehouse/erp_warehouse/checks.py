"""Consistency checks run by ``erp check``: the stock invariants."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from erp_warehouse.models import INTERNAL_KINDS, Location, StockBalance, StockLedger, StockReservation

ZERO = Decimal(0)


def ledger_sums(session: Session) -> dict[tuple[int, int, int], Decimal]:
    """Sum of the ledger per (product, internal location, lot_key): what every balance must hold."""
    internal = select(Location.id).where(Location.kind.in_(INTERNAL_KINDS))
    inbound = select(
        StockLedger.product_id,
        StockLedger.to_location_id.label("location_id"),
        StockLedger.lot_key,
        StockLedger.quantity.label("qty"),
    ).where(StockLedger.to_location_id.in_(internal))
    outbound = select(
        StockLedger.product_id,
        StockLedger.from_location_id.label("location_id"),
        StockLedger.lot_key,
        (StockLedger.quantity * -1).label("qty"),
    ).where(StockLedger.from_location_id.in_(internal))
    moves = union_all(inbound, outbound).subquery()
    stmt = select(moves.c.product_id, moves.c.location_id, moves.c.lot_key, func.sum(moves.c.qty)).group_by(
        moves.c.product_id, moves.c.location_id, moves.c.lot_key
    )
    return {(p, loc, lot): Decimal(total) for p, loc, lot, total in session.execute(stmt).tuples()}


def balances_match_ledger(session: Session) -> Iterator[str]:
    """Every balance's on-hand quantity equals the sum of its ledger, exactly."""
    sums = ledger_sums(session)
    balances = session.execute(
        select(StockBalance.product_id, StockBalance.location_id, StockBalance.lot_key, StockBalance.on_hand)
    ).tuples()
    seen = set()
    for product_id, location_id, lot_key, on_hand in balances:
        key = (product_id, location_id, lot_key)
        seen.add(key)
        expected = sums.get(key, ZERO)
        if on_hand != expected:
            yield (
                f"balance of product {product_id} at location {location_id} lot {lot_key or '-'}: "
                f"on hand {on_hand}, ledger sum {expected}"
            )
    for key, total in sums.items():
        if key not in seen and total != 0:
            yield (
                f"ledger of product {key[0]} at location {key[1]} lot {key[2] or '-'} sums to {total} "
                "but there is no balance"
            )


def reserved_within_on_hand(session: Session) -> Iterator[str]:
    """No balance is negative or reserves more than it holds, and reservations add up to ``reserved``."""
    for product_id, location_id, lot_key, on_hand, reserved in session.execute(
        select(
            StockBalance.product_id,
            StockBalance.location_id,
            StockBalance.lot_key,
            StockBalance.on_hand,
            StockBalance.reserved,
        ).where(
            (StockBalance.reserved > StockBalance.on_hand)
            | (StockBalance.on_hand < 0)
            | (StockBalance.reserved < 0)
        )
    ).tuples():
        yield (
            f"balance of product {product_id} at location {location_id} lot {lot_key or '-'}: "
            f"on hand {on_hand}, reserved {reserved}"
        )
    held = dict(
        (
            ((p, loc, lot), total)
            for p, loc, lot, total in session.execute(
                select(
                    StockReservation.product_id,
                    StockReservation.location_id,
                    StockReservation.lot_key,
                    func.sum(StockReservation.quantity),
                ).group_by(
                    StockReservation.product_id, StockReservation.location_id, StockReservation.lot_key
                )
            ).tuples()
        )
    )
    for product_id, location_id, lot_key, reserved in session.execute(
        select(StockBalance.product_id, StockBalance.location_id, StockBalance.lot_key, StockBalance.reserved)
    ).tuples():
        expected = held.pop((product_id, location_id, lot_key), ZERO)
        if reserved != expected:
            yield (
                f"balance of product {product_id} at location {location_id} lot {lot_key or '-'}: "
                f"reserved {reserved}, open reservations {expected}"
            )
    for key, total in held.items():
        if total != 0:
            yield f"reservations of product {key[0]} at location {key[1]} hold {total} with no balance"


CHECKS = [balances_match_ledger, reserved_within_on_hand]
"""The checks ``erp check`` runs (contributed through ``erp_checks``)."""


def run_all(session: Session) -> list[str]:
    """Every violation found by the warehouse checks (empty when stock is sound)."""
    return [message for check in CHECKS for message in check(session)]
