# mypy: disable-error-code="empty-body"
"""The warehouse plugin's own hookspecs: in-transaction hooks other plugins implement.

Both are called synchronously inside the transaction of the stock posting, with its session: whatever
an implementation writes commits or rolls back together with the posting. (The after-commit events
``stock_moved`` and ``po_received`` go through the kernel's outbox instead.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from erp_warehouse.stock import GoodsReceived, Shortfall

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
