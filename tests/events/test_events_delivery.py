"""Delivery in one process (the embedded mode and drain_events): effects, retries, dead letters,
redelivery, ordering, time limits, duplicates, request ids and metrics."""

from __future__ import annotations

import json
import logging
import threading
import uuid

from erp_example.models import NoteEvent
from erp_example.service import create_note
from erp_example_audit.models import AuditEntry
from sqlalchemy import select

from kernel.events import admin, emit
from kernel.events.declare import event_registry
from kernel.events.delivery import deliver
from kernel.events.models import EventDelivery, EventInbox, OutboxEvent
from kernel.logs import JsonFormatter
from kernel.testing import drain_events, wait_until
from tests.events.conftest import (
    FAST_RETRIES,
    PLUGINS,
    add_rule,
    assert_exactly_once,
    count,
    delivery,
    remove_rules,
)


def _note(site, text: str) -> uuid.UUID:
    with site.sessions.begin() as session:
        create_note(session, text=text)
    with site.sessions() as session:
        return session.scalars(select(OutboxEvent.id).order_by(OutboxEvent.seq.desc())).first()


class _JsonLines(logging.Handler):
    """Formats each record when it is logged, in the logging thread (where the request id is set)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(JsonFormatter().format(record)))


def test_on_note_created_reaches_both_subscribers_with_the_request_id(make_client, auth_headers) -> None:
    capture = _JsonLines()
    logging.getLogger("erp_example").addHandler(capture)
    logging.getLogger("erp_example").setLevel(logging.INFO)
    try:
        client = make_client(PLUGINS, **FAST_RETRIES)
        client.headers.update(auth_headers(client, "Warehouse Admin"))
        site = client.app.state.site
        resp = client.post(
            "/api/v1/example/notes", json={"text": "hello"}, headers={"X-Request-ID": "req-42"}
        )
        assert resp.status_code == 201
        wait_until(lambda: count(site, EventInbox) == 2, timeout=10)
    finally:
        logging.getLogger("erp_example").removeHandler(capture)
    assert_exactly_once(site, 1)
    with site.sessions() as session:
        assert session.scalars(select(NoteEvent.request_id)).one() == "req-42"
    handled = [line for line in capture.lines if line["message"] == f"note {resp.json()['id']} created"]
    assert handled and handled[0]["request_id"] == "req-42"


def test_failing_subscriber_ends_dead_without_delaying_or_repeating_the_other(events_site) -> None:
    add_rule(events_site, "bad note", "fail")
    event_id = _note(events_site, "bad note")
    drain_events(events_site)

    good = delivery(events_site, event_id, "example")
    assert (good.status, good.attempts) == ("delivered", 1)
    bad = delivery(events_site, event_id, "example_audit")
    assert (bad.status, bad.attempts) == ("dead", 3)
    assert bad.last_error == "RuntimeError: audit refuses note 1"
    # The good subscriber was done before the bad one had even used its retries up.
    assert good.handled_at < bad.last_attempt_at
    assert count(events_site, NoteEvent) == 1
    assert count(events_site, AuditEntry) == 0

    with events_site.sessions() as session:
        page = admin.list_events(session, status="dead")
        assert [item.id for item in page.items] == [event_id]
        assert page.items[0].status == "dead"
        detail = admin.get_event(session, event_id)
    assert detail.payload == {"note_id": 1, "text": "bad note"}
    dead = next(d for d in detail.deliveries if d.plugin == "example_audit")
    assert dead.attempts == 3
    assert "Traceback" in dead.last_traceback and "audit refuses note 1" in dead.last_traceback

    remove_rules(events_site)  # the fix
    with events_site.sessions.begin() as session:
        redelivered = admin.redeliver(session, event_id)
    statuses = {d.plugin: d.status for d in redelivered.deliveries}
    assert statuses == {"example": "delivered", "example_audit": "pending"}
    drain_events(events_site)
    assert_exactly_once(events_site, 1)
    assert delivery(events_site, event_id, "example_audit").attempts == 1


def test_failed_attempts_are_retried_with_backoff_and_then_succeed(events_site) -> None:
    add_rule(events_site, "flaky", "fail")
    event_id = _note(events_site, "flaky")
    events = event_registry(events_site.registry)
    from kernel.events.relay import Relay
    from kernel.events.worker import site_bus

    bus = site_bus(events_site)
    Relay(events_site, events, bus).run_once()
    assert deliver(events_site, events, event_id, "example") == "delivered"
    assert deliver(events_site, events, event_id, "example_audit") == "failed"
    row = delivery(events_site, event_id, "example_audit")
    assert row.status == "failed" and row.attempts == 1
    assert row.not_before > row.last_attempt_at  # backoff: not retried at once
    assert deliver(events_site, events, event_id, "example_audit") == "skipped"
    remove_rules(events_site)
    drain_events(events_site)
    assert_exactly_once(events_site, 1)
    assert delivery(events_site, event_id, "example_audit").attempts == 2


def test_a_handler_past_its_time_limit_is_interrupted_and_retried(make_site) -> None:
    settings = {**FAST_RETRIES, "events_time_limit": 0.5, "events_max_attempts": 2}
    site = make_site(PLUGINS, broker="stub", **settings)
    add_rule(site, "slow", "hang")
    event_id = _note(site, "slow")
    drain_events(site, timeout=30)
    row = delivery(site, event_id, "example_audit")
    assert (row.status, row.attempts) == ("dead", 2)
    assert row.last_error == "TimeLimitExceeded: the handler ran longer than 0.5s"
    assert count(site, AuditEntry) == 0
    assert delivery(site, event_id, "example").status == "delivered"


def test_events_of_one_aggregate_are_handled_in_emit_order(events_site) -> None:
    for n in range(30):
        with events_site.sessions.begin() as session:
            emit(session, "note_created", {"note_id": n, "text": f"n{n}"}, aggregate="note:shared")
    drain_events(events_site)
    with events_site.sessions() as session:
        example_order = list(session.scalars(select(NoteEvent.note_id).order_by(NoteEvent.id)))
        audit_order = list(session.scalars(select(AuditEntry.note_id).order_by(AuditEntry.id)))
    assert example_order == list(range(30))
    assert audit_order == list(range(30))


def test_the_same_message_delivered_many_times_at_once_has_one_effect(events_site) -> None:
    event_id = _note(events_site, "dup")
    events = event_registry(events_site.registry)
    from kernel.events.relay import Relay
    from kernel.events.worker import site_bus

    Relay(events_site, events, site_bus(events_site)).run_once()
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def run(plugin: str) -> None:
        barrier.wait()
        outcomes.append(deliver(events_site, events, event_id, plugin))

    threads = [threading.Thread(target=run, args=(p,)) for p in PLUGINS * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("delivered") == 2
    assert_exactly_once(events_site, 1)
    # A late duplicate after delivery is ignored as well.
    assert deliver(events_site, events, event_id, "example") == "skipped"
    assert count(events_site, NoteEvent) == 1


def test_metrics_count_lag_failures_dead_and_backlog(events_site) -> None:
    from kernel.metrics.exposition import render
    from tests.ops.helpers import value

    def sample(name: str, **labels: str) -> float:
        return value(render(events_site).decode(), name, **labels)

    labels = {"event": "note_created", "plugin": "example_audit"}
    lag_before = sample("erp_event_lag_seconds_count", event="note_created", plugin="example")
    failures_before = sample("erp_event_handler_failures_total", **labels)
    dead_before = sample("erp_event_dead_lettered_total", **labels)
    add_rule(events_site, "doomed", "fail")
    _note(events_site, "doomed")
    _note(events_site, "fine")

    assert sample("erp_events_outbox_backlog") == 2
    drain_events(events_site)
    assert sample("erp_events_outbox_backlog") == 0
    assert sample("erp_events_dead") == 1
    assert sample("erp_event_lag_seconds_count", event="note_created", plugin="example") == lag_before + 2
    assert sample("erp_event_handler_failures_total", **labels) == failures_before + 3
    assert sample("erp_event_dead_lettered_total", **labels) == dead_before + 1


def test_a_delivery_for_an_unknown_event_is_ignored(events_site) -> None:
    events = event_registry(events_site.registry)
    assert deliver(events_site, events, uuid.uuid4(), "example") == "unknown"
    assert count(events_site, EventDelivery) == 0
