"""Transfers of WIP between department stores: send -> accept (or cancel), with line clearance.

Sending moves the quantity from the sending store into transit; accepting moves what the receiving
department counted from transit into its store (a difference within 10% goes to scrap, or, when more
arrived than was sent, is taken from the sending store); cancelling returns it to the sender.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

import pluggy
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from erp_warehouse.events import TransferBlocked
from erp_warehouse.models import Location, Product, Transfer
from erp_warehouse.stock import MoveLine, post_stock_move
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kernel.events import emit
from kernel.site import site_of

log = logging.getLogger("erp_warehouse.transfers")

TOLERANCE = Decimal("0.10")
"""A received quantity more than this fraction off the sent quantity is refused."""
OPEN = "sent"


def _same_department(location: Location | None, department: str) -> bool:
    return location is not None and (location.department or "").casefold() == department.casefold()


def _snapshot(transfer: Transfer) -> dict[str, object]:
    return {
        "state": transfer.state,
        "sent_qty": str(transfer.sent_qty),
        "received_qty": None if transfer.received_qty is None else str(transfer.received_qty),
    }


def _special_location(session: Session, kind: str) -> Location:
    location = session.scalar(
        select(Location).where(Location.kind == kind, Location.active).order_by(Location.id).limit(1)
    )
    if location is None:
        raise Conflict(f"no active {kind} location is configured; create one in the location master data")
    return location


def _report_blocked(session: Session, payload: TransferBlocked) -> None:
    """Emit ``transfer_blocked`` in a transaction of its own: the refused send rolls back, the alert
    must not. A failure to record it is logged and does not change the caller's 409."""
    try:
        with unit_of_work(site_of(session).sessions) as own:
            emit(own, "transfer_blocked", payload, aggregate=f"location:{payload.to_location_id}")
    except Exception:
        log.exception("could not record transfer_blocked for store %s", payload.to_location_code)


def get_transfer(session: Session, *, transfer_id: int, lock: bool = False) -> Transfer:
    """One transfer (locked for update when ``lock``); NotFound when it does not exist."""
    stmt = select(Transfer).where(Transfer.id == transfer_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    transfer = session.scalar(stmt)
    if transfer is None:
        raise NotFound(f"transfer {transfer_id} does not exist")
    return transfer


def send_transfer(
    session: Session,
    *,
    hooks: pluggy.HookRelay,
    product_id: int,
    from_location_id: int,
    to_location_id: int,
    quantity: Decimal,
    lot_id: int | None = None,
    destination: str | None = None,
    reference: str | None = None,
    note: str | None = None,
    user: str | None = None,
    department: str | None = None,
) -> Transfer:
    """Send WIP to the next department's store; Conflict when that store's line is not clear.

    ``department``, when given, is the only department whose store the caller may send from
    (department-scoped roles); PermissionDenied otherwise.
    """
    errors = []
    if session.get(Product, product_id) is None:
        errors.append({"field": "product_id", "message": "unknown product"})
    stores = {}
    for field, location_id in (("from_location_id", from_location_id), ("to_location_id", to_location_id)):
        location = session.get(Location, location_id)
        if location is None or location.kind != "store" or not location.active:
            errors.append({"field": field, "message": "must be an active department store"})
        else:
            stores[field] = location
    if from_location_id == to_location_id:
        errors.append({"field": "to_location_id", "message": "must differ from the sending store"})
    if errors:
        raise ValidationFailed("invalid transfer", errors=errors)
    if department is not None and not _same_department(stores["from_location_id"], department):
        raise PermissionDenied(f"{department} may only send transfers from its own store")
    # Serialise sends into one store, so two different articles cannot both pass line clearance.
    session.execute(select(Location.id).where(Location.id == to_location_id).with_for_update())
    blocking = session.scalar(
        select(Transfer)
        .where(
            Transfer.to_location_id == to_location_id,
            Transfer.state == OPEN,
            (Transfer.product_id != product_id) | (Transfer.destination.is_distinct_from(destination)),
        )
        .order_by(Transfer.id)
        .limit(1)
    )
    if blocking is not None:
        _report_blocked(
            session,
            TransferBlocked(
                product_id=product_id,
                from_location_id=from_location_id,
                to_location_id=to_location_id,
                to_location_code=stores["to_location_id"].code,
                department=stores["to_location_id"].department,
                destination=destination,
                reference=reference,
                quantity=quantity,
                user=user,
                blocking_transfer_id=blocking.id,
                blocking_number=blocking.number,
                blocking_product_id=blocking.product_id,
                blocking_destination=blocking.destination,
            ),
        )
        raise Conflict(
            f"line clearance: {stores['to_location_id'].code} still holds {blocking.number} (another "
            f"article or destination: product {blocking.product_id}, destination "
            f"{blocking.destination or '-'}) not yet accepted; accept or cancel it first",
            blocking_transfer_id=blocking.id,
        )
    transit = _special_location(session, "transit")
    transfer = Transfer(
        number=f"TRF-{uuid.uuid4().hex[:12]}",
        product_id=product_id,
        lot_id=lot_id,
        from_location_id=from_location_id,
        to_location_id=to_location_id,
        transit_location_id=transit.id,
        destination=destination,
        reference=reference,
        state=OPEN,
        sent_qty=quantity,
        sent_by=user,
        sent_at=utcnow(),
        note=note,
    )
    session.add(transfer)
    session.flush()
    transfer.number = f"TRF-{transfer.id:06d}"
    line = MoveLine(product_id, from_location_id, transit.id, quantity, lot_id=lot_id)
    post_stock_move(
        session, hooks=hooks, lines=[line], reference=transfer.number, user=user, allow_shortfall=False
    )
    session.flush()
    return transfer


def accept_transfer(
    session: Session,
    *,
    hooks: pluggy.HookRelay,
    transfer_id: int,
    received_qty: Decimal,
    user: str | None = None,
    department: str | None = None,
) -> Transfer:
    """Accept a transfer with the counted quantity (at most 10% off what was sent).

    ``department``, when given, is the only department whose store the caller may accept into
    (department-scoped roles); PermissionDenied otherwise.
    """
    transfer = get_transfer(session, transfer_id=transfer_id, lock=True)
    to_store = session.get(Location, transfer.to_location_id)
    if department is not None and not _same_department(to_store, department):
        raise PermissionDenied(f"only the receiving department may accept {transfer.number}")
    if transfer.state != OPEN:
        raise Conflict(f"{transfer.number} is {transfer.state}; only a sent transfer can be accepted")
    sent = transfer.sent_qty
    if abs(received_qty - sent) > sent * TOLERANCE:
        raise ValidationFailed(
            f"received {received_qty} is more than 10% off the sent {sent}; count again",
            errors=[{"field": "received_qty", "message": f"must be within 10% of {sent}"}],
        )
    p, lot = transfer.product_id, transfer.lot_id
    transit = transfer.transit_location_id
    lines = [MoveLine(p, transit, transfer.to_location_id, min(received_qty, sent), lot_id=lot)]
    if received_qty < sent:
        scrap = _special_location(session, "scrap")
        lines.append(MoveLine(p, transit, scrap.id, sent - received_qty, lot_id=lot))
    elif received_qty > sent:
        lines.append(
            MoveLine(p, transfer.from_location_id, transfer.to_location_id, received_qty - sent, lot_id=lot)
        )
    lines = [line for line in lines if line.quantity > 0]
    if lines:
        post_stock_move(
            session, hooks=hooks, lines=lines, reference=transfer.number, user=user, allow_shortfall=False
        )
    old = _snapshot(transfer)
    transfer.state = "accepted"
    transfer.received_qty = received_qty
    transfer.accepted_by = user
    transfer.accepted_at = utcnow()
    session.flush()
    record_change(
        session,
        entity_type="warehouse.transfer",
        entity_id=transfer.id,
        action="accept",
        old=old,
        new=_snapshot(transfer),
    )
    return transfer


def cancel_transfer(
    session: Session,
    *,
    hooks: pluggy.HookRelay,
    transfer_id: int,
    user: str | None = None,
    department: str | None = None,
) -> Transfer:
    """Cancel a sent transfer: the quantity returns from transit to the sending store.

    ``department``, when given, is the only department whose sent transfers the caller may cancel.
    """
    transfer = get_transfer(session, transfer_id=transfer_id, lock=True)
    if department is not None and not _same_department(
        session.get(Location, transfer.from_location_id), department
    ):
        raise PermissionDenied(f"only the sending department may cancel {transfer.number}")
    if transfer.state != OPEN:
        raise Conflict(f"{transfer.number} is {transfer.state}; only a sent transfer can be cancelled")
    line = MoveLine(
        transfer.product_id,
        transfer.transit_location_id,
        transfer.from_location_id,
        transfer.sent_qty,
        lot_id=transfer.lot_id,
    )
    post_stock_move(
        session, hooks=hooks, lines=[line], reference=transfer.number, user=user, allow_shortfall=False
    )
    old = _snapshot(transfer)
    transfer.state = "cancelled"
    transfer.cancelled_by = user
    transfer.cancelled_at = utcnow()
    session.flush()
    record_change(
        session,
        entity_type="warehouse.transfer",
        entity_id=transfer.id,
        action="cancel",
        old=old,
        new=_snapshot(transfer),
    )
    return transfer


def list_transfers(
    session: Session,
    *,
    state: str | None = None,
    location_id: int | None = None,
    department: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Transfer], int]:
    """Transfers, newest first, optionally by state, by a store on either side, and by a department
    whose store is on either side."""
    stmt = select(Transfer)
    if department is not None:
        stores = select(Location.id).where(func.lower(Location.department) == department.casefold())
        stmt = stmt.where(or_(Transfer.from_location_id.in_(stores), Transfer.to_location_id.in_(stores)))
    if state:
        stmt = stmt.where(Transfer.state == state)
    if location_id is not None:
        stmt = stmt.where(
            or_(Transfer.from_location_id == location_id, Transfer.to_location_id == location_id)
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Transfer.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def touches_department(session: Session, transfer: Transfer, department: str) -> bool:
    """True when the transfer's sending or receiving store belongs to ``department``."""
    return any(
        _same_department(session.get(Location, location_id), department)
        for location_id in (transfer.from_location_id, transfer.to_location_id)
    )
