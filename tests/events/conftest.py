"""Shared set-up of the event tests: a site with the example plugin (emitter and subscriber) and the
audit plugin (a second subscriber that can be told to fail, hang or kill its worker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from erp_example.models import Note, NoteEvent
from erp_example_audit.models import AuditEntry, AuditRule
from sqlalchemy import func, select

from kernel.events.models import EventDelivery, EventInbox, OutboxEvent
from kernel.site import Site

PLUGINS = ["example", "example_audit"]

FAST_RETRIES: dict[str, Any] = {
    "events_max_attempts": 3,
    "events_backoff_base": 0.05,
    "events_backoff_max": 0.2,
    "events_time_limit": 2.0,
    "events_lease_margin": 1.0,
    "events_redeliver_after": 5.0,
    "events_relay_interval": 0.02,
}
"""Retry settings that keep the drills short; production defaults are minutes, not milliseconds."""


def add_rule(site: Site, text: str, action: str) -> None:
    """Make the audit plugin react to notes saying ``text`` with ``action`` (fail, veto, hang, kill)."""
    with site.sessions.begin() as session:
        session.add(AuditRule(text=text, action=action))


def remove_rules(site: Site) -> None:
    """The audit plugin's handler is 'fixed': it accepts every note again."""
    with site.sessions.begin() as session:
        session.query(AuditRule).delete()


def count(site: Site, model: Any, *where: Any) -> int:
    """Rows of ``model`` matching ``where``."""
    with site.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def delivery(site: Site, event_id: Any, plugin: str) -> EventDelivery | None:
    """The delivery row of (event, plugin)."""
    with site.sessions() as session:
        return session.get(EventDelivery, (event_id, plugin))


def effects_per_event(site: Site) -> tuple[dict[Any, int], dict[Any, int]]:
    """How many times each event was handled by the example and by the audit plugin (effect rows)."""
    return grouped_count(site, NoteEvent.event_id), grouped_count(site, AuditEntry.event_id)


def grouped_count(site: Site, column: Any) -> dict[Any, int]:
    """Rows per value of ``column``."""
    with site.sessions() as session:
        return dict(session.execute(select(column, func.count()).group_by(column)).all())


def assert_exactly_once(site: Site, expected_events: int) -> None:
    """Every event emitted was handled exactly once by each of the two subscribers; nothing is open."""
    with site.sessions() as session:
        event_ids = set(session.scalars(select(OutboxEvent.id)))
        assert len(event_ids) == expected_events
    statuses = grouped_count(site, EventDelivery.status)
    with site.sessions() as session:
        assert statuses == {"delivered": 2 * expected_events}, statuses
        assert session.scalar(select(func.count()).select_from(EventInbox)) == 2 * expected_events
        assert session.scalar(select(func.count()).select_from(Note)) == expected_events
    example, audit = effects_per_event(site)
    assert set(example) == event_ids, f"lost by example: {len(event_ids - set(example))}"
    assert set(audit) == event_ids, f"lost by audit: {len(event_ids - set(audit))}"
    assert set(example.values()) == {1}, "an event had a second effect in the example plugin"
    assert set(audit.values()) == {1}, "an event had a second effect in the audit plugin"


@pytest.fixture
def events_site(make_site: Callable[..., Site]) -> Site:
    """A site with both test plugins, the stub broker (tests drive delivery) and fast retries."""
    return make_site(PLUGINS, broker="stub", **FAST_RETRIES)
