"""The example plugin's own hooks: one event and one in-transaction hook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kernel.events import EventEnvelope

hookspec = pluggy.HookspecMarker("erp")


@hookspec
def on_note_created(session: Session, event: EventEnvelope[Any]) -> None:
    """Event hook (after commit, by a worker): a note was created; ``event.payload`` is a NoteCreated.

    Called once per subscribing plugin in a fresh transaction of its own; raise to have it retried.
    """


@hookspec
def on_note_creating(session: Session, text: str) -> None:
    """In-transaction hook: a note with ``text`` is about to be created in ``session``'s transaction.

    Raise ``kernel.events.Veto`` to refuse it (the client gets a 409 and nothing is written).
    """
