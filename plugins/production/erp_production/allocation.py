"""Auto-allocation: reserve an SPK's materials FIFO over lots in its department store.

required = qty per unit x (1 + wastage%) x SPK target / BOM output, per material. What is already
covered (open reservations of the SPK plus what it consumed) is subtracted, so allocating twice reserves
nothing the second time; the SPK row is locked for the whole run, so concurrent runs serialise and the
second sees the first's reservations. The preview computes the same plan without writing anything.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from erp_warehouse.models import Lot, StockBalance, StockReservation
from erp_warehouse.stock import release, reserve
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_production.bom import requirements
from erp_production.models import Allocation, Bom, Consumption, Spk
from kernel.audit import record_change
from kernel.errors import Conflict, NotFound

ZERO = Decimal(0)


@dataclass
class AllocationLine:
    """One material of an allocation run."""

    product_id: int
    required: Decimal
    covered_before: Decimal
    reserved_now: Decimal = ZERO
    shortage: Decimal = ZERO
    lots: list[dict[str, Decimal | int | None]] = field(default_factory=list)


def spk_requirements(session: Session, *, spk: Spk) -> dict[int, Decimal]:
    """What the SPK's target needs of each material, by its BOM."""
    bom = session.get(Bom, spk.bom_id)
    if bom is None:
        raise NotFound(f"BOM {spk.bom_id} of {spk.number} does not exist")
    return requirements(session, bom=bom, quantity=spk.target)


def reserved_open(session: Session, *, spk_id: int) -> dict[int, Decimal]:
    """Per material, what the SPK's reservations still hold."""
    rows = session.execute(
        select(StockReservation.product_id, func.sum(StockReservation.quantity))
        .join(Allocation, Allocation.reservation_id == StockReservation.id)
        .where(Allocation.spk_id == spk_id)
        .group_by(StockReservation.product_id)
    ).tuples()
    return {p: Decimal(q) for p, q in rows}


def allocated_total(session: Session, *, spk_id: int) -> dict[int, Decimal]:
    """Per material, everything ever reserved for the SPK minus what was released back."""
    rows = session.execute(
        select(
            StockReservation.product_id,
            func.sum(StockReservation.reserved_qty - StockReservation.released_qty),
        )
        .join(Allocation, Allocation.reservation_id == StockReservation.id)
        .where(Allocation.spk_id == spk_id)
        .group_by(StockReservation.product_id)
    ).tuples()
    return {p: Decimal(q) for p, q in rows}


def consumed(session: Session, *, spk_id: int) -> dict[int, Decimal]:
    """Per material, what backflush consumed for the SPK (including any part that became debt)."""
    rows = session.execute(
        select(Consumption.product_id, func.sum(Consumption.quantity))
        .where(Consumption.spk_id == spk_id)
        .group_by(Consumption.product_id)
    ).tuples()
    return {p: Decimal(q) for p, q in rows}


def free_lots(session: Session, *, product_id: int, location_id: int) -> list[tuple[int | None, Decimal]]:
    """(lot id, free quantity) at a location, oldest lot first (stock without a lot last)."""
    stmt = (
        select(StockBalance.lot_id, StockBalance.on_hand - StockBalance.reserved)
        .outerjoin(Lot, Lot.id == StockBalance.lot_id)
        .where(
            StockBalance.product_id == product_id,
            StockBalance.location_id == location_id,
            StockBalance.on_hand - StockBalance.reserved > 0,
        )
        .order_by(StockBalance.lot_key == 0, Lot.received_at.is_(None), Lot.received_at, StockBalance.lot_key)
    )
    return [(lot, Decimal(q)) for lot, q in session.execute(stmt).tuples()]


def plan(session: Session, *, spk: Spk) -> list[AllocationLine]:
    """The allocation the SPK would get now (no side effects)."""
    required = spk_requirements(session, spk=spk)
    held = reserved_open(session, spk_id=spk.id)
    used = consumed(session, spk_id=spk.id)
    lines = []
    for product_id in sorted(required):
        covered = held.get(product_id, ZERO) + used.get(product_id, ZERO)
        line = AllocationLine(product_id, required[product_id], covered)
        need = max(required[product_id] - covered, ZERO)
        for lot_id, free in free_lots(session, product_id=product_id, location_id=spk.store_location_id):
            if need <= 0:
                break
            take = min(need, free)
            line.lots.append({"lot_id": lot_id, "quantity": take})
            line.reserved_now += take
            need -= take
        line.shortage = need
        lines.append(line)
    return lines


def _lock_spk(session: Session, spk_id: int, department: str | None) -> Spk:
    from erp_production.spk import check_department, get_spk

    spk = get_spk(session, spk_id=spk_id, lock=True)
    check_department(spk, department)
    return spk


def preview(session: Session, *, spk_id: int, department: str | None = None) -> list[AllocationLine]:
    """The SPK's allocation as it would be made now, without reserving anything."""
    from erp_production.spk import check_department, get_spk

    spk = get_spk(session, spk_id=spk_id)
    check_department(spk, department)
    return plan(session, spk=spk)


def allocate(
    session: Session,
    *,
    spk_id: int,
    dry_run: bool = False,
    user: str | None = None,
    department: str | None = None,
) -> list[AllocationLine]:
    """Reserve the SPK's missing materials FIFO over lots in its store; report the shortage per material.

    Idempotent: only the difference between the requirement and what is already covered is reserved.
    """
    if dry_run:
        return preview(session, spk_id=spk_id, department=department)
    spk = _lock_spk(session, spk_id, department)
    if spk.state not in ("not_started", "in_progress"):
        raise Conflict(f"{spk.number} is {spk.state}; materials are allocated to open SPKs only")
    lines = plan(session, spk=spk)
    for line in lines:
        made = ZERO
        for lot in line.lots:
            qty = lot["quantity"]
            assert isinstance(qty, Decimal)
            lot_id = lot["lot_id"]
            assert lot_id is None or isinstance(lot_id, int)
            try:
                reservation = reserve(
                    session,
                    product_id=line.product_id,
                    location_id=spk.store_location_id,
                    quantity=qty,
                    reference=spk.number,
                    lot_id=lot_id,
                    user=user,
                )
            except Conflict:
                continue  # another document took this lot's free stock meanwhile: part of the shortage
            session.add(
                Allocation(
                    spk_id=spk.id,
                    product_id=line.product_id,
                    reservation_id=reservation.id,
                    quantity=qty,
                    created_by=user,
                )
            )
            made += qty
        line.shortage += line.reserved_now - made
        line.reserved_now = made
    session.flush()
    record_change(
        session,
        entity_type="production.spk",
        entity_id=spk.id,
        action="allocate",
        new={
            str(x.product_id): {"reserved": str(x.reserved_now), "shortage": str(x.shortage)} for x in lines
        },
    )
    return lines


def open_reservations(session: Session, *, spk_id: int) -> dict[int, list[StockReservation]]:
    """The SPK's reservations still holding stock, per material, oldest first."""
    stmt = (
        select(StockReservation)
        .join(Allocation, Allocation.reservation_id == StockReservation.id)
        .where(Allocation.spk_id == spk_id, StockReservation.quantity > 0)
        .order_by(StockReservation.id)
        .execution_options(populate_existing=True)
    )
    grouped: dict[int, list[StockReservation]] = defaultdict(list)
    for r in session.scalars(stmt):
        grouped[r.product_id].append(r)
    return grouped


def release_allocations(session: Session, *, spk: Spk) -> None:
    """Give back to free stock whatever the SPK's reservations still hold."""
    for reservations in open_reservations(session, spk_id=spk.id).values():
        for r in reservations:
            release(session, reservation_id=r.id)
