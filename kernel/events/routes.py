"""``/api/v1/system/events``: what the event bus owes, what failed, and redelivery of dead letters."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from kernel.audit import record_change
from kernel.deps import SessionDep
from kernel.events import admin
from kernel.events.schemas import EventDetail, EventPage
from kernel.pagination import PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/system/events", tags=["system"])

ViewEvents = Annotated[Principal, Depends(require("kernel.events.view"))]


@router.get("", response_model=EventPage, summary="List events")
def list_events(
    session: SessionDep,
    principal: ViewEvents,
    page: PageDep,
    status: Annotated[Literal["pending", "delivered", "failed", "dead"] | None, Query()] = None,
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    plugin: Annotated[str | None, Query(max_length=100)] = None,
) -> EventPage:
    """Events newest first; filter by a delivery's status (and plugin) and by event type."""
    return admin.list_events(
        session, status=status, event_type=event_type, plugin=plugin, limit=page.limit, offset=page.offset
    )


@router.get("/{event_id}", response_model=EventDetail, summary="One event")
def get_event(event_id: uuid.UUID, session: SessionDep, principal: ViewEvents) -> EventDetail:
    """The event's payload and, per subscribing plugin, attempts, last error and its traceback."""
    return admin.get_event(session, event_id)


@router.post("/{event_id}/redeliver", response_model=EventDetail, summary="Redeliver dead or failed")
def redeliver(
    event_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("kernel.events.redeliver"))],
    plugin: Annotated[
        str | None, Query(max_length=100, description="Only this subscriber's delivery.")
    ] = None,
) -> EventDetail:
    """Give the event's dead or failed deliveries a fresh set of attempts (409 when there are none).

    Delivered ones never run again; the relay publishes the reset deliveries on its next pass.
    """
    before = admin.get_event(session, event_id)
    after = admin.redeliver(session, event_id, plugin=plugin)
    record_change(
        session,
        entity_type="kernel.event",
        entity_id=str(event_id),
        action="redeliver",
        old={d.plugin: d.status for d in before.deliveries},
        new={d.plugin: d.status for d in after.deliveries},
    )
    return after
