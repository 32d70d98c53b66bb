"""``emit``: write an event into the outbox, inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.events.declare import event_registry
from kernel.events.models import OutboxEvent
from kernel.events.wakeup import note_emitted
from kernel.logs import request_id_var
from kernel.site import site_of


def emit(
    session: Session, event: str, payload: BaseModel | Mapping[str, Any], *, aggregate: str | None = None
) -> uuid.UUID:
    """Validate ``payload`` against ``event``'s schema and add the event to the outbox; returns its id.

    Nothing is published here: the row commits or rolls back with the caller's transaction, and the
    relay publishes it only once committed. ``aggregate`` (e.g. ``"spk:42"``) asks that events of the same
    aggregate reach each subscriber in the order they were emitted. The current request id travels with
    the event into the handler's logs. Raises EventError for an undeclared event or a bad payload.
    """
    declared = event_registry(site_of(session).registry).get(event)
    data = declared.event.validate(payload).model_dump(mode="json")
    event_id = uuid.uuid4()
    session.execute(
        insert(OutboxEvent).values(
            id=event_id,
            name=event,
            version=declared.event.version,
            payload=data,
            aggregate=aggregate,
            request_id=request_id_var.get(),
            emitted_at=utcnow(),
        )
    )
    note_emitted(session)
    return event_id
