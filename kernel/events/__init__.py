"""Events: declare, emit and handle events through the transactional outbox and the Dramatiq bus.

Plugin authors need only this module's exports:

- ``Event(name, version, payload)``: returned from the hook ``erp_events()`` to declare an event;
- ``emit(session, event, payload, *, aggregate=None)``: write it, inside the caller's transaction;
- ``EventEnvelope``: what an ``on_<event>(session, event)`` hook implementation receives;
- ``Veto``: raised by an in-transaction hook implementation to refuse the emitter's change (409).

See ``docs/events.md``.
"""

from kernel.errors import Conflict
from kernel.events.declare import Event, EventEnvelope, EventError
from kernel.events.emit import emit


class Veto(Conflict):
    """Raised by an in-transaction hook implementation to refuse the change in progress.

    It propagates out of ``pm.hook.on_<x>(...)`` through the emitter's service, so the request's
    transaction rolls back and the client gets a 409 with this detail.
    """


__all__ = ["Event", "EventEnvelope", "EventError", "Veto", "emit"]
