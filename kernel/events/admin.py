"""Operating the bus: list and inspect events, redeliver dead or failed deliveries.

Service functions for the ``/api/v1/system/events`` routes (added with the permission system). An
event's status is the worst of its deliveries': dead, then failed, then pending, else delivered; an
event not yet published is pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.events.models import DEAD, FAILED, PENDING, STATUSES, EventDelivery, OutboxEvent
from kernel.events.schemas import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryStatus,
    EventDetail,
    EventPage,
    EventSummary,
)

MAX_LIMIT = 500
_SEVERITY = (DEAD, FAILED, PENDING)


def _overall(event: OutboxEvent, deliveries: Sequence[EventDelivery]) -> DeliveryStatus:
    if event.published_at is None:
        return "pending"
    statuses = {d.status for d in deliveries}
    for status in _SEVERITY:
        if status in statuses:
            return status  # type: ignore[return-value]
    return "delivered"


def _delivery(d: EventDelivery, detail: bool) -> DeliveryOut:
    cls = DeliveryDetail if detail else DeliveryOut
    extra = {"last_traceback": d.last_traceback} if detail else {}
    return cls(
        plugin=d.plugin,
        status=d.status,  # type: ignore[arg-type]  # a plain column; the schema narrows it to the states
        attempts=d.attempts,
        published_at=d.published_at,
        last_attempt_at=d.last_attempt_at,
        handled_at=d.handled_at,
        next_attempt_at=d.not_before if d.status == FAILED else None,
        last_error=d.last_error,
        **extra,
    )


def _deliveries_of(session: Session, event_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[EventDelivery]]:
    by_event: dict[uuid.UUID, list[EventDelivery]] = {i: [] for i in event_ids}
    if event_ids:
        rows = session.scalars(
            select(EventDelivery).where(EventDelivery.event_id.in_(event_ids)).order_by(EventDelivery.plugin)
        )
        for d in rows:
            by_event[d.event_id].append(d)
    return by_event


def list_events(
    session: Session,
    *,
    status: str | None = None,
    event_type: str | None = None,
    plugin: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> EventPage:
    """Events newest first, filtered by a delivery's status (and plugin) and by event name."""
    if status is not None and status not in STATUSES:
        allowed = ", ".join(STATUSES)
        raise ValidationFailed(
            f"unknown status {status!r}", errors=[{"field": "status", "message": f"one of {allowed}"}]
        )
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValidationFailed(
            "bad pagination", errors=[{"field": "limit", "message": f"1..{MAX_LIMIT}, offset >= 0"}]
        )
    query = select(OutboxEvent)
    if event_type is not None:
        query = query.where(OutboxEvent.name == event_type)
    match = [EventDelivery.event_id == OutboxEvent.id]
    if plugin is not None:
        match.append(EventDelivery.plugin == plugin)
    if status is not None:
        match.append(EventDelivery.status == status)
    if plugin is not None or status is not None:
        condition: ColumnElement[bool] = exists().where(*match)
        if status == PENDING:
            # Not yet published: owed to every subscriber, so it matches any plugin too.
            condition = or_(condition, OutboxEvent.published_at.is_(None))
        query = query.where(condition)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    events = list(session.scalars(query.order_by(OutboxEvent.seq.desc()).limit(limit).offset(offset)))
    deliveries = _deliveries_of(session, [e.id for e in events])
    items = [_summary(e, deliveries[e.id]) for e in events]
    return EventPage(items=items, total=total, limit=limit, offset=offset)


def _summary(event: OutboxEvent, deliveries: list[EventDelivery]) -> EventSummary:
    return EventSummary(
        id=event.id,
        event=event.name,
        version=event.version,
        aggregate=event.aggregate,
        request_id=event.request_id,
        emitted_at=event.emitted_at,
        published_at=event.published_at,
        status=_overall(event, deliveries),
        deliveries=[_delivery(d, False) for d in deliveries],
    )


def get_event(session: Session, event_id: uuid.UUID) -> EventDetail:
    """One event with its payload and each delivery's attempts, last error and traceback."""
    event = session.scalar(select(OutboxEvent).where(OutboxEvent.id == event_id))
    if event is None:
        raise NotFound(f"event {event_id} does not exist")
    deliveries = _deliveries_of(session, [event.id])[event.id]
    return EventDetail(
        **_summary(event, deliveries).model_dump(exclude={"deliveries"}),
        payload=event.payload,
        deliveries=[_delivery(d, True) for d in deliveries],  # type: ignore[misc]
    )


def redeliver(session: Session, event_id: uuid.UUID, *, plugin: str | None = None) -> EventDetail:
    """Give the dead or failed deliveries of an event (or only ``plugin``'s) a fresh set of attempts now.

    Delivered ones are never re-run (the inbox would refuse them anyway). The relay publishes the
    deliveries on its next pass; the caller's transaction must commit first. Raises NotFound, or
    Conflict when there is nothing to redeliver.
    """
    get_event(session, event_id)
    conditions = [EventDelivery.event_id == event_id, EventDelivery.status.in_((DEAD, FAILED))]
    if plugin is not None:
        conditions.append(EventDelivery.plugin == plugin)
    now = utcnow()
    changed = session.execute(
        update(EventDelivery)
        .where(*conditions)
        .values(status=PENDING, attempts=0, due_at=now, not_before=None, lease_until=None)
        .returning(EventDelivery.plugin)
    ).all()
    if not changed:
        who = f" to {plugin!r}" if plugin else ""
        raise Conflict(f"event {event_id} has no dead or failed delivery{who} to redeliver")
    session.expire_all()
    return get_event(session, event_id)


__all__ = ["get_event", "list_events", "redeliver"]
