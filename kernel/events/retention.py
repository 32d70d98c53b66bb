"""Retention of the event tables: handled events are deleted after ``events_retention_days``.

Only events that were published and delivered to every subscriber go; pending, failed and dead ones stay
until an operator redelivers them. Deliveries and inbox rows go with their event (ON DELETE CASCADE).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from kernel.events.delivery import DELIVERED
from kernel.events.models import EventDelivery, OutboxEvent
from kernel.scheduler import PeriodicJob
from kernel.site import site_of


def purge_handled_events(session: Session, *, emitted_before: datetime) -> int:
    """Delete the fully delivered events emitted before ``emitted_before``; returns how many."""
    still_open = exists().where(EventDelivery.event_id == OutboxEvent.id, EventDelivery.status != DELIVERED)
    handled = select(OutboxEvent.id).where(
        OutboxEvent.emitted_at < emitted_before, OutboxEvent.published_at.is_not(None), ~still_open
    )
    result = session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(handled)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _purge_job(session: Session, scheduled_for: datetime) -> None:
    days = site_of(session).settings.events_retention_days
    purge_handled_events(session, emitted_before=scheduled_for - timedelta(days=days))


RETENTION_JOB = PeriodicJob(
    name="kernel.events_retention",
    run=_purge_job,
    cron="30 2 * * *",
    description="Delete events delivered to every subscriber more than events_retention_days ago.",
)
