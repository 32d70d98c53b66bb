# mypy: disable-error-code="empty-body"
"""The warehouse plugin's own hookspecs: two in-transaction hooks and three event hooks.

``on_stock_negative`` and ``on_goods_received`` are called synchronously inside the transaction of the
stock posting, with its session: whatever an implementation writes commits or rolls back together with
the posting. ``on_stock_moved``, ``on_po_received`` and ``on_transfer_blocked`` are event hooks: the
events go through the kernel's outbox and reach subscribers after commit, in a worker (payloads in
``erp_warehouse.events``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from erp_warehouse.stock import GoodsReceived, Shortfall
    from kernel.events import EventEnvelope

hookspec = pluggy.HookspecMarker("erp")


@hookspec(firstresult=True)
def on_stock_negative(session: Session, shortfall: Shortfall) -> bool | None:
    """In-transaction hook: a consuming move line needs more than is available at its source.

    Called by ``post_stock_move`` once per short line, while the posting holds its balance locks, with
    the move's session. ``shortfall`` says what was asked (``requested``), what exists (``available``,
    on hand minus reserved), the missing ``quantity`` and the move's context (``reference``, ``move_id``,
    ``line_no``, product, location, lot, user). An implementation that takes responsibility for the
    missing quantity (production records material debt) writes what it needs into ``session`` and
    returns ``True``; the line then posts only what is available and the shortfall is recorded with the
    accepting plugin's name. Return ``None`` to decline. Stops at the first non-None result. When no
    implementation accepts, the whole move is refused with 409 Conflict and nothing of it is written.
    Raising aborts the posting (and the transaction) with that error.

    :param session: the posting's transaction.
    :param shortfall: the short line and its context.
    :returns: ``True`` to accept the shortfall, ``None`` to decline.
    """


@hookspec
def on_goods_received(session: Session, receipt: GoodsReceived) -> None:
    """In-transaction hook: goods were received into stock against a purchase order.

    Called by ``receive_purchase_order`` right after the receipt's stock move posted, inside the same
    transaction (so production can settle material debt first-in-first-out atomically with the receipt,
    using ``post_stock_move`` on the same session). Every implementation is called, in plugin order.
    Raising refuses the receipt: the whole transaction rolls back.

    :param session: the receipt's transaction.
    :param receipt: purchase order, move id, and per line product, location, lot and stock quantity.
    """


@hookspec
def on_stock_moved(session: Session, event: EventEnvelope) -> None:
    """Event hook (after commit, by a worker): a stock move was posted.

    Emitted by ``post_stock_move`` in the posting's transaction (aggregate ``product:<id>`` when every
    line moves one product, else ``move:<id>``), so it exists only if the posting committed.
    ``event.payload`` is ``erp_warehouse.events.StockMoved``: ``move_id``, ``reference``, ``user`` and
    per line ``product_id``, ``from_location_id``, ``to_location_id``, ``lot_id``, ``requested``,
    ``posted``, ``shortfall`` and ``accepted_by``. Called in a fresh transaction of the subscriber's own,
    committed when it returns; raise to fail the attempt (it is retried, then dead-lettered).
    """


@hookspec
def on_po_received(session: Session, event: EventEnvelope) -> None:
    """Event hook (after commit, by a worker): goods were received against a purchase order.

    Emitted by ``purchasing.receive_po`` in the receipt's transaction (aggregate ``po:<id>``).
    ``event.payload`` is ``erp_warehouse.events.PoReceived``: ``po_id``, ``number``, ``po_type``,
    ``state`` after the receipt, ``week``, ``destination``, ``location_id``, ``receipt_id``, ``move_id``
    and ``lines`` (``product_id``, ``location_id``, ``lot_id``, ``quantity`` in stock units). Called in a
    fresh transaction of the subscriber's own; raise to fail the attempt (retried, then dead-lettered).
    """


@hookspec
def on_transfer_blocked(session: Session, event: EventEnvelope) -> None:
    """Event hook (after commit, by a worker): line clearance refused a transfer.

    Emitted by ``transfers.send_transfer`` when the receiving store still holds a sent transfer of
    another article or destination. The send itself is refused (409, nothing of it written), so the
    event is written in a transaction of its own, committed before the Conflict is raised (aggregate
    ``location:<receiving store id>``). ``event.payload`` is ``erp_warehouse.events.TransferBlocked``:
    what was being sent (``product_id``, ``from_location_id``, ``to_location_id``,
    ``to_location_code``, ``department`` of the receiving store, ``destination``, ``reference``,
    ``quantity``, ``user``) and what blocks it (``blocking_transfer_id``, ``blocking_number``,
    ``blocking_product_id``, ``blocking_destination``). PPIC raises a line-clearance alert.
    """
