"""Stock postings: the one way stock changes (``post_stock_move``), used by every plugin.

How a posting stays exact under concurrency:
- every balance it touches is updated by one atomic statement (``UPDATE ... RETURNING`` with the
  availability condition in its ``WHERE``, or ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` for a
  balance that may not exist yet); nothing is read into Python, changed and written back;
- balances are touched in sorted key order (product, location, lot), so two postings never wait for
  each other in a cycle (no deadlock, whatever the directions of their lines);
- the ledger row of every posted line is appended in the same transaction, so "balance = sum of the
  ledger" holds for every committed state; the database's CHECK constraints refuse a negative on-hand
  or a reservation above on-hand even if a bug slipped through.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import pluggy
from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from erp_warehouse.models import (
    Location,
    Lot,
    Product,
    StockBalance,
    StockLedger,
    StockMove,
    StockReservation,
    StockShortfall,
)
from erp_warehouse.quantities import check_quantity
from kernel.clock import utcnow
from kernel.db import conflict_insert
from kernel.errors import Conflict, NotFound, ValidationFailed

ZERO = Decimal(0)
BALANCE = cast(Table, StockBalance.__table__)
RESERVATION = cast(Table, StockReservation.__table__)
Key = tuple[int, int, int]
"""A balance key: (product_id, location_id, lot_key) where lot_key is the lot id or 0."""


@dataclass(frozen=True)
class MoveLine:
    """One line of a posting: ``quantity`` of a product (and lot) from one location to another.

    With ``reservation_id``, the quantity is taken from that reservation (it must match the line's
    product, source location and lot), never from free stock.
    """

    product_id: int
    from_location_id: int
    to_location_id: int
    quantity: Decimal
    lot_id: int | None = None
    reservation_id: int | None = None


@dataclass(frozen=True)
class Shortfall:
    """What ``on_stock_negative`` receives: a consuming line that needs more than is available."""

    move_id: int
    line_no: int
    reference: str
    product_id: int
    location_id: int
    lot_id: int | None
    requested: Decimal
    available: Decimal
    quantity: Decimal
    user: str | None


@dataclass
class PostedLine:
    """The outcome of one line: what was asked, what was posted, what shortfall was accepted (by whom)."""

    line_no: int
    product_id: int
    lot_id: int | None
    from_location_id: int
    to_location_id: int
    requested: Decimal
    posted: Decimal
    shortfall: Decimal = ZERO
    accepted_by: str | None = None


@dataclass
class PostedMove:
    """The outcome of ``post_stock_move``."""

    move_id: int
    reference: str
    lines: list[PostedLine] = field(default_factory=list)

    @property
    def shortfall(self) -> Decimal:
        """Total quantity accepted as shortfall over all lines."""
        return sum((line.shortfall for line in self.lines), ZERO)


@dataclass(frozen=True)
class ReceivedLine:
    """A line of a goods receipt, in the product's stock unit."""

    product_id: int
    location_id: int
    lot_id: int | None
    quantity: Decimal


@dataclass(frozen=True)
class GoodsReceived:
    """What ``on_goods_received`` receives."""

    purchase_order_id: int
    receipt_id: int
    move_id: int
    reference: str
    lines: tuple[ReceivedLine, ...]
    user: str | None


def _key(product_id: int, location_id: int, lot_id: int | None) -> Key:
    return (product_id, location_id, lot_id or 0)


def _where_key(key: Key) -> Any:
    return (
        (BALANCE.c.product_id == key[0]) & (BALANCE.c.location_id == key[1]) & (BALANCE.c.lot_key == key[2])
    )


def _upsert_add(session: Session, key: Key, lot_id: int | None, quantity: Decimal) -> None:
    """Add ``quantity`` to a balance, creating it when missing: one INSERT ... ON CONFLICT statement."""
    ins = conflict_insert(session, BALANCE)
    now = utcnow()
    stmt = ins.values(
        product_id=key[0],
        location_id=key[1],
        lot_id=lot_id,
        lot_key=key[2],
        on_hand=quantity,
        reserved=ZERO,
        updated_at=now,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[BALANCE.c.product_id, BALANCE.c.location_id, BALANCE.c.lot_key],
        set_={"on_hand": BALANCE.c.on_hand + stmt.excluded.on_hand, "updated_at": now},
    ).returning(BALANCE.c.on_hand)
    session.execute(upsert).one()


def _update_balance(
    session: Session, key: Key, *, delta: Decimal, reserved_delta: Decimal = ZERO, need_free: Decimal = ZERO
) -> tuple[Decimal, Decimal] | None:
    """Change a balance by ``delta`` (and reserved by ``reserved_delta``) in one atomic statement.

    The change applies only when ``need_free`` is available (on hand minus reserved, before the change)
    and the reservation covers ``-reserved_delta``; returns the new (on_hand, reserved) or None.
    """
    stmt = (
        update(BALANCE)
        .where(_where_key(key))
        .values(
            on_hand=BALANCE.c.on_hand + delta,
            reserved=BALANCE.c.reserved + reserved_delta,
            updated_at=utcnow(),
        )
        .returning(BALANCE.c.on_hand, BALANCE.c.reserved)
    )
    if need_free > 0:
        stmt = stmt.where(BALANCE.c.on_hand - BALANCE.c.reserved >= need_free)
    if reserved_delta < 0:
        stmt = stmt.where(BALANCE.c.reserved >= -reserved_delta)
    row = session.execute(stmt).one_or_none()
    return (row[0], row[1]) if row is not None else None


def _locked_balance(session: Session, key: Key) -> tuple[Decimal, Decimal] | None:
    stmt = select(BALANCE.c.on_hand, BALANCE.c.reserved).where(_where_key(key)).with_for_update()
    row = session.execute(stmt).one_or_none()
    return (row[0], row[1]) if row is not None else None


def _validate(session: Session, lines: Sequence[MoveLine], reference: str) -> dict[int, Location]:
    if not reference or not reference.strip():
        raise ValidationFailed(
            "a stock move needs a reference document",
            errors=[{"field": "reference", "message": "required"}],
        )
    if not lines:
        raise ValidationFailed(
            "a stock move needs at least one line", errors=[{"field": "lines", "message": "empty"}]
        )
    errors: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        try:
            check_quantity(line.quantity, positive=True)
        except ValueError as exc:
            errors.append({"field": f"lines.{i}.quantity", "message": str(exc)})
        if line.from_location_id == line.to_location_id:
            errors.append({"field": f"lines.{i}.to_location_id", "message": "must differ from the source"})
    if errors:
        raise ValidationFailed("invalid stock move lines", errors=errors)
    location_ids = {x.from_location_id for x in lines} | {x.to_location_id for x in lines}
    found = session.scalars(select(Location).where(Location.id.in_(location_ids)))
    locations = {loc.id: loc for loc in found}
    product_ids = {x.product_id for x in lines}
    products = set(session.scalars(select(Product.id).where(Product.id.in_(product_ids), Product.active)))
    lot_ids = {x.lot_id for x in lines if x.lot_id is not None}
    lots: dict[int, int] = {}
    if lot_ids:  # most moves carry no lot: spare the round trip
        lots = dict(session.execute(select(Lot.id, Lot.product_id).where(Lot.id.in_(lot_ids))).tuples().all())
    for i, line in enumerate(lines):
        if line.product_id not in products:
            errors.append({"field": f"lines.{i}.product_id", "message": "unknown or inactive product"})
        for name in ("from_location_id", "to_location_id"):
            loc = locations.get(getattr(line, name))
            if loc is None or not loc.active or loc.kind == "view":
                errors.append({"field": f"lines.{i}.{name}", "message": "unknown, inactive or view location"})
        if line.lot_id is not None and lots.get(line.lot_id) != line.product_id:
            errors.append({"field": f"lines.{i}.lot_id", "message": "unknown lot or lot of another product"})
        src, dst = locations.get(line.from_location_id), locations.get(line.to_location_id)
        if src is not None and dst is not None and not src.internal and not dst.internal:
            errors.append({"field": f"lines.{i}", "message": "a move needs an internal location on one side"})
    if errors:
        raise ValidationFailed("invalid stock move", errors=errors)
    return locations


def _take_reservations(session: Session, lines: Sequence[MoveLine]) -> None:
    """Decrement each reservation a line consumes (sorted by id: reservations lock before balances)."""
    per_reservation: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        if line.reservation_id is not None:
            per_reservation[line.reservation_id] += line.quantity
    for reservation_id in sorted(per_reservation):
        qty = per_reservation[reservation_id]
        row = session.execute(
            update(RESERVATION)
            .where(RESERVATION.c.id == reservation_id, RESERVATION.c.quantity >= qty)
            .values(quantity=RESERVATION.c.quantity - qty, consumed_qty=RESERVATION.c.consumed_qty + qty)
            .returning(RESERVATION.c.product_id, RESERVATION.c.location_id, RESERVATION.c.lot_key)
        ).one_or_none()
        if row is None:
            res = session.get(StockReservation, reservation_id)
            if res is None:
                raise NotFound(f"reservation {reservation_id} does not exist")
            raise Conflict(f"reservation {reservation_id} holds only {res.quantity}, {qty} asked")
        for line in lines:
            if line.reservation_id == reservation_id and (row[0], row[1], row[2]) != _key(
                line.product_id, line.from_location_id, line.lot_id
            ):
                raise ValidationFailed(
                    f"reservation {reservation_id} is for another product, location or lot",
                    errors=[{"field": "reservation_id", "message": "does not match the line"}],
                )


def post_stock_move(
    session: Session,
    *,
    hooks: pluggy.HookRelay,
    lines: Sequence[MoveLine],
    reference: str,
    user: str | None = None,
    note: str | None = None,
    allow_shortfall: bool = True,
) -> PostedMove:
    """Post a stock move of one or more lines atomically, inside the caller's transaction.

    A consuming line takes at most what is available (on hand minus reserved) at its internal source.
    When it needs more, ``on_stock_negative`` is called; if a plugin accepts, the line posts what exists
    and the accepted shortfall is recorded and reported, otherwise Conflict (409) is raised and nothing
    of the move is written. With ``allow_shortfall=False`` the hook is not asked (transfers hand over
    only what exists). Raises ValidationFailed (422) for bad lines and unknown ids.
    """
    locations = _validate(session, lines, reference)
    savepoint = session.begin_nested()
    try:
        result = _post(session, hooks if allow_shortfall else None, lines, reference, user, note, locations)
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    _emit_moved(session, result, user)
    return result


def _emit_moved(session: Session, result: PostedMove, user: str | None) -> None:
    from erp_warehouse.events import MovedLine, StockMoved
    from kernel.events import emit

    products = {line.product_id for line in result.lines}
    aggregate = f"product:{products.pop()}" if len(products) == 1 else f"move:{result.move_id}"
    payload = StockMoved(
        move_id=result.move_id,
        reference=result.reference,
        user=user,
        lines=[
            MovedLine(
                line_no=x.line_no,
                product_id=x.product_id,
                from_location_id=x.from_location_id,
                to_location_id=x.to_location_id,
                lot_id=x.lot_id,
                requested=x.requested,
                posted=x.posted,
                shortfall=x.shortfall,
                accepted_by=x.accepted_by,
            )
            for x in result.lines
        ],
    )
    emit(session, "stock_moved", payload, aggregate=aggregate)


def _post(
    session: Session,
    hooks: pluggy.HookRelay | None,
    lines: Sequence[MoveLine],
    reference: str,
    user: str | None,
    note: str | None,
    locations: dict[int, Location],
) -> PostedMove:
    now = utcnow()
    move = StockMove(reference=reference, note=note, created_by=user, created_at=now)
    session.add(move)
    session.flush()
    _take_reservations(session, lines)

    outgoing: dict[Key, list[int]] = defaultdict(list)
    incoming: dict[Key, list[int]] = defaultdict(list)
    lot_of: dict[Key, int | None] = {}
    for i, line in enumerate(lines):
        if locations[line.from_location_id].internal:
            k = _key(line.product_id, line.from_location_id, line.lot_id)
            outgoing[k].append(i)
            lot_of[k] = line.lot_id
        if locations[line.to_location_id].internal:
            k = _key(line.product_id, line.to_location_id, line.lot_id)
            incoming[k].append(i)
            lot_of[k] = line.lot_id
    posted = [line.quantity for line in lines]  # optimistic until a source proves short
    shortfalls: dict[int, tuple[Decimal, str]] = {}
    done: set[Key] = set()

    for key in sorted(outgoing.keys() | incoming.keys()):
        inc = sum((posted[i] for i in incoming.get(key, ())), ZERO)
        outs = outgoing.get(key, [])
        out_free = sum((lines[i].quantity for i in outs if lines[i].reservation_id is None), ZERO)
        out_res = sum((lines[i].quantity for i in outs if lines[i].reservation_id is not None), ZERO)
        if out_free == 0 and out_res == 0:
            _upsert_add(session, key, lot_of[key], inc)
        elif (
            _update_balance(
                session, key, delta=inc - out_free - out_res, reserved_delta=-out_res, need_free=out_free
            )
            is None
        ):
            current = _locked_balance(session, key)
            if current is not None and current[1] < out_res:
                raise Conflict(f"balance {key} holds less reserved stock than its reservations")
            available = max(current[0] - current[1], ZERO) if current is not None else ZERO
            for i in outgoing[key]:
                if lines[i].reservation_id is not None:
                    continue
                take = min(lines[i].quantity, available)
                available -= take
                if take < lines[i].quantity:
                    shortfalls[i] = (
                        lines[i].quantity - take,
                        _ask_acceptance(hooks, session, move, lines[i], i, take, user),
                    )
                    posted[i] = take
            out_posted = sum((posted[i] for i in outgoing[key] if lines[i].reservation_id is None), ZERO)
            delta = inc - out_posted - out_res
            if current is None:
                if inc > 0:
                    _upsert_add(session, key, lot_of[key], inc)
            elif _update_balance(session, key, delta=delta, reserved_delta=-out_res) is None:
                raise Conflict(f"balance {key} changed while locked")  # cannot happen: we hold its lock
            for i in outgoing[key]:
                dst = _key(lines[i].product_id, lines[i].to_location_id, lines[i].lot_id)
                if i in shortfalls and dst in done:
                    # That destination was credited with the full quantity before this source proved
                    # short; we hold its lock, so correcting it keeps the lock order.
                    _update_balance(session, dst, delta=posted[i] - lines[i].quantity)
        done.add(key)

    ledger_rows = [
        {
            "move_id": move.id,
            "line_no": i + 1,
            "product_id": line.product_id,
            "lot_id": line.lot_id,
            "lot_key": line.lot_id or 0,
            "from_location_id": line.from_location_id,
            "to_location_id": line.to_location_id,
            "quantity": posted[i],
            "reservation_id": line.reservation_id,
            "reference": reference,
            "created_by": user,
            "created_at": now,
        }
        for i, line in enumerate(lines)
        if posted[i] > 0
    ]
    if ledger_rows:
        session.execute(insert(StockLedger), ledger_rows)
    if shortfalls:
        session.execute(
            insert(StockShortfall),
            [
                {
                    "move_id": move.id,
                    "line_no": i + 1,
                    "product_id": lines[i].product_id,
                    "location_id": lines[i].from_location_id,
                    "lot_id": lines[i].lot_id,
                    "quantity": qty,
                    "accepted_by": by,
                    "reference": reference,
                    "created_at": now,
                }
                for i, (qty, by) in sorted(shortfalls.items())
            ],
        )
    result = PostedMove(move_id=move.id, reference=reference)
    for i, line in enumerate(lines):
        short, by = shortfalls.get(i, (ZERO, None))
        result.lines.append(
            PostedLine(
                line_no=i + 1,
                product_id=line.product_id,
                lot_id=line.lot_id,
                from_location_id=line.from_location_id,
                to_location_id=line.to_location_id,
                requested=line.quantity,
                posted=posted[i],
                shortfall=short,
                accepted_by=by,
            )
        )
    return result


def _ask_acceptance(
    hooks: pluggy.HookRelay | None,
    session: Session,
    move: StockMove,
    line: MoveLine,
    index: int,
    available: Decimal,
    user: str | None,
) -> str:
    """Call ``on_stock_negative``; return the accepting plugin's name or raise Conflict."""
    shortfall = Shortfall(
        move_id=move.id,
        line_no=index + 1,
        reference=move.reference,
        product_id=line.product_id,
        location_id=line.from_location_id,
        lot_id=line.lot_id,
        requested=line.quantity,
        available=available,
        quantity=line.quantity - available,
        user=user,
    )
    # firstresult semantics, but we also want to know who accepted: walk implementations in the order
    # pluggy would call them.
    impls = hooks.on_stock_negative.get_hookimpls() if hooks is not None else []
    for impl in reversed(impls):
        args = {"session": session, "shortfall": shortfall}
        if impl.function(**{name: args[name] for name in impl.argnames}):
            return str(impl.plugin_name)
    product_code = session.scalar(select(Product.code).where(Product.id == line.product_id))
    location_code = session.scalar(select(Location.code).where(Location.id == line.from_location_id))
    raise Conflict(
        f"not enough stock of {product_code} at {location_code}: {line.quantity} needed, "
        f"{available} available, short {shortfall.quantity}; nothing was posted",
        product_id=line.product_id,
        location_id=line.from_location_id,
        requested=str(line.quantity),
        available=str(available),
        shortfall=str(shortfall.quantity),
    )


# --- reservations --------------------------------------------------------------------------------


def reserve(
    session: Session,
    *,
    product_id: int,
    location_id: int,
    quantity: Decimal,
    reference: str,
    lot_id: int | None = None,
    user: str | None = None,
) -> StockReservation:
    """Reserve ``quantity`` of free stock for ``reference``; Conflict when less is available.

    One atomic statement: the balance's reserved quantity grows only if on hand minus reserved covers it.
    """
    _check_qty(quantity)
    location = session.get(Location, location_id)
    if location is None or not location.internal:
        raise NotFound(f"internal location {location_id} does not exist")
    key = _key(product_id, location_id, lot_id)
    if _update_balance(session, key, delta=ZERO, reserved_delta=quantity, need_free=quantity) is None:
        available = session.execute(
            select(BALANCE.c.on_hand - BALANCE.c.reserved).where(_where_key(key))
        ).scalar_one_or_none()
        raise Conflict(
            f"cannot reserve {quantity}: only {available or ZERO} available",
            available=str(available or ZERO),
        )
    reservation = StockReservation(
        product_id=product_id,
        location_id=location_id,
        lot_id=lot_id,
        lot_key=key[2],
        reserved_qty=quantity,
        quantity=quantity,
        consumed_qty=ZERO,
        released_qty=ZERO,
        reference=reference,
        created_by=user,
    )
    session.add(reservation)
    session.flush()
    return reservation


def release(session: Session, *, reservation_id: int, quantity: Decimal | None = None) -> StockReservation:
    """Give back ``quantity`` (default: all that is left) of a reservation to free stock."""
    reservation = session.scalar(
        select(StockReservation)
        .where(StockReservation.id == reservation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if reservation is None:
        raise NotFound(f"reservation {reservation_id} does not exist")
    qty = reservation.quantity if quantity is None else quantity
    if quantity is not None:
        _check_qty(quantity)
    if qty > reservation.quantity:
        raise Conflict(f"reservation {reservation_id} holds only {reservation.quantity}, {qty} asked")
    if qty == 0:
        return reservation
    session.execute(
        update(RESERVATION)
        .where(RESERVATION.c.id == reservation_id)
        .values(quantity=RESERVATION.c.quantity - qty, released_qty=RESERVATION.c.released_qty + qty)
    )
    key = (reservation.product_id, reservation.location_id, reservation.lot_key)
    if _update_balance(session, key, delta=ZERO, reserved_delta=-qty) is None:
        raise Conflict(f"balance {key} holds less reserved stock than reservation {reservation_id}")
    session.refresh(reservation)
    return reservation


def consume_reserved(
    session: Session,
    *,
    hooks: pluggy.HookRelay,
    reservation_id: int,
    quantity: Decimal,
    to_location_id: int,
    reference: str | None = None,
    user: str | None = None,
) -> PostedMove:
    """Move ``quantity`` out of a reservation to ``to_location_id`` (e.g. production) as one posting."""
    reservation = session.get(StockReservation, reservation_id)
    if reservation is None:
        raise NotFound(f"reservation {reservation_id} does not exist")
    line = MoveLine(
        product_id=reservation.product_id,
        from_location_id=reservation.location_id,
        to_location_id=to_location_id,
        quantity=quantity,
        lot_id=reservation.lot_id,
        reservation_id=reservation_id,
    )
    return post_stock_move(
        session, hooks=hooks, lines=[line], reference=reference or reservation.reference, user=user
    )


def _check_qty(quantity: Decimal) -> None:
    try:
        check_quantity(quantity, positive=True)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "quantity", "message": str(exc)}]) from None
