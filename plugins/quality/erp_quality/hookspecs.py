# mypy: disable-error-code="empty-body"
"""Hookspecs of the quality plugin: the events it emits. Documented in ``plugins/quality/README.md``;
each hook has a test named after it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kernel.events import EventEnvelope

hookspec = pluggy.HookspecMarker("erp")


# --- event hooks (after commit, by a worker) ----------------------------------------------------


@hookspec
def on_inspection_recorded(session: Session, event: EventEnvelope[Any]) -> None:
    """Event hook (after commit, by a worker): an inspection was completed; ``event.payload`` is an
    ``erp_quality.events.InspectionRecorded``.

    Emitted in the transaction that records the result of every inline inspection and every final
    inspection an inspector completes, whether it passed or failed (a failed one also emits
    ``inspection_failed``); these are the inspections QC figures such as the pass rate count. Not
    emitted for a pending final inspection being created, nor for a refused result.
    Called once per subscribing plugin in a fresh transaction of its own; raise to have it retried.
    The return value is ignored.
    """


@hookspec
def on_inspection_failed(session: Session, event: EventEnvelope[Any]) -> None:
    """Event hook (after commit, by a worker): units failed an inspection; ``event.payload`` is an
    ``erp_quality.events.InspectionFailed``.

    Emitted when an inline or final inspection completes with scrap, a critical defect or a
    metal-detector failure (``severity`` ``critical`` for metal and critical defects, else ``major``).
    Called once per subscribing plugin in a fresh transaction of its own; raise to have it retried.
    The return value is ignored.
    """


@hookspec
def on_batch_released(session: Session, event: EventEnvelope[Any]) -> None:
    """Event hook (after commit, by a worker): QC released a batch for shipping; ``event.payload`` is an
    ``erp_quality.events.BatchReleased``.

    Called once per subscribing plugin in a fresh transaction of its own; raise to have it retried.
    The return value is ignored.
    """
