# mypy: disable-error-code="empty-body"
"""The kanban plugin's own hookspecs: the after-commit event it emits.

Documented in ``plugins/kanban/README.md``; each hook has a test named after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kernel.events import EventEnvelope

hookspec = pluggy.HookspecMarker("erp")


# --- events (after commit, by a worker) ---------------------------------------------------------


@hookspec
def on_kanban_card_completed(session: Session, event: EventEnvelope[Any]) -> None:
    """Event hook (after commit, by a worker): a replenishment card was completed.

    Emitted in the transaction that completed the card and posted its stock move (aggregate
    ``kanban_card:<id>``), so it exists only if both committed. ``event.payload`` is
    ``erp_kanban.events.KanbanCardCompleted``: card id and number, board, department, product, quantity,
    the move's source and destination locations, ``move_id``, the linked ``spk_id`` and who completed it.
    Called once per subscribing plugin in a fresh transaction of its own; raise to have it retried.

    :param session: the handler's own transaction.
    :param event: the envelope.
    """
