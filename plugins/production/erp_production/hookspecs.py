# mypy: disable-error-code="empty-body"
"""The production plugin's own hookspecs: the after-commit events it emits.

Documented in ``plugins/production/README.md``; each hook has a test named after it.
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
def on_spk_completed(session: Session, event: EventEnvelope[Any]) -> None:
    """Event hook (after commit, by a worker): an SPK was completed; ``event.payload`` is SpkCompleted.

    Called once per subscribing plugin in a fresh transaction of its own (quality creates the final
    inspection of the SPK's output); raise to have it retried.

    :param session: the handler's own transaction.
    :param event: the envelope; ``payload`` carries spk, MO, department, product, good/defect and batch.
    """


@hookspec
def on_spk_started(session: Session, event: EventEnvelope[Any]) -> None:
    """Event hook (after commit, by a worker): an SPK was started; ``event.payload`` is SpkStarted.

    :param session: the handler's own transaction.
    :param event: the envelope; ``payload`` carries spk, MO, department, product and target.
    """


@hookspec
def on_mo_released(session: Session, event: EventEnvelope[Any]) -> None:
    """Event hook (after commit, by a worker): an MO was released (partially or fully).

    ``event.payload`` is MoReleased (the MO, its level and the SPKs this release created).

    :param session: the handler's own transaction.
    :param event: the envelope.
    """


@hookspec
def on_daily_input_posted(session: Session, event: EventEnvelope[Any]) -> None:
    """Event hook (after commit, by a worker): a daily input was entered or corrected.

    ``event.payload`` is DailyInputPosted (the entry's id, SPK, MO, department, date and its good,
    defect and rework after the change, and whether it was a correction). PPIC refreshes its dashboard.

    :param session: the handler's own transaction.
    :param event: the envelope.
    """
