"""Retention: fully delivered old events are purged nightly; open and dead ones stay for the operator."""

from __future__ import annotations

from datetime import timedelta

from erp_example.service import create_note
from sqlalchemy import func, select, update

from kernel.clock import utcnow
from kernel.events.models import EventDelivery, EventInbox, OutboxEvent
from kernel.events.retention import RETENTION_JOB, purge_handled_events
from kernel.scheduler import run_due_jobs
from kernel.testing import drain_events
from tests.events.conftest import add_rule


def _count(site, model) -> int:
    with site.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def test_old_delivered_events_are_purged_and_dead_ones_kept(events_site) -> None:
    add_rule(events_site, "poison", "fail")
    for text in ("old ok", "poison", "recent ok"):
        with events_site.sessions.begin() as session:
            create_note(session, text=text)
    drain_events(events_site)
    forty_days_ago = utcnow() - timedelta(days=40)
    with events_site.sessions.begin() as session:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.payload["text"].as_string().in_(["old ok", "poison"]))
            .values(emitted_at=forty_days_ago)
        )
    with events_site.sessions.begin() as session:
        purged = purge_handled_events(session, emitted_before=utcnow() - timedelta(days=30))
    assert purged == 1  # "old ok": "poison" is dead for one subscriber, "recent ok" is recent
    with events_site.sessions() as session:
        texts = sorted(e.payload["text"] for e in session.scalars(select(OutboxEvent)))
        assert texts == ["poison", "recent ok"]
    # Deliveries and inbox rows went with their event.
    assert _count(events_site, EventDelivery) == 4 and _count(events_site, EventInbox) == 3


def test_erp_periodic_jobs_runs_the_retention_nightly(events_site) -> None:
    with events_site.sessions.begin() as session:
        create_note(session, text="ancient")
    drain_events(events_site)
    with events_site.sessions.begin() as session:
        session.execute(update(OutboxEvent).values(emitted_at=utcnow() - timedelta(days=31)))
    assert RETENTION_JOB.cron == "30 2 * * *"
    # 02:30 in Jakarta is 19:30 UTC the day before; run the job for its latest period.
    now = utcnow().replace(hour=19, minute=31, second=0, microsecond=0)
    ran = run_due_jobs(events_site, [RETENTION_JOB], now)
    assert [name for name, _ in ran] == ["kernel.events_retention"]
    assert _count(events_site, OutboxEvent) == 0
