"""The relay: publishes committed outbox rows, and deliveries that are due again, to the broker.

Each pass locks a batch with ``FOR UPDATE SKIP LOCKED`` (so any number of relays share the work without
publishing a row twice), creates one delivery row per subscribing plugin, publishes one message per
delivery and only then commits. A broker error rolls the batch back: the rows stay pending and go out
on a later pass. A relay killed after publishing but before committing leaves the rows pending too; they
are published again and the inbox makes the duplicate harmless.

The same pass republishes open deliveries whose ``due_at`` has passed: retries after their backoff,
attempts whose lease ran out (a killed worker) and messages the broker lost.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import insert, select, tuple_, update

from kernel.clock import utcnow
from kernel.events import metrics
from kernel.events.bus import EventBus
from kernel.events.declare import EventRegistry
from kernel.events.models import OPEN_STATUSES, PENDING, EventDelivery, OutboxEvent
from kernel.events.policy import RetryPolicy
from kernel.events.wakeup import relay_signal, start_listener
from kernel.site import Site

log = logging.getLogger("kernel.events.relay")

"""Seconds between refreshes of the backlog and dead gauges (each is a count query)."""
MAX_ERROR_BACKOFF = 5.0


class Relay:
    """Moves committed events from the outbox to the broker; run one or more per site."""

    def __init__(self, site: Site, events: EventRegistry, bus: EventBus) -> None:
        self.site = site
        self.events = events
        self.bus = bus
        self.policy = RetryPolicy.from_settings(site.settings)
        self.batch = site.settings.events_relay_batch

    def publish_new(self) -> int:
        """Publish one batch of committed, unpublished events; returns the number of events."""
        with self.site.sessions() as session, session.begin():
            rows = session.execute(
                select(OutboxEvent.id, OutboxEvent.name)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.seq)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            now = utcnow()
            due = now + self.policy.redelivery
            deliveries = [
                {
                    "event_id": event_id,
                    "plugin": plugin,
                    "status": PENDING,
                    "attempts": 0,
                    "published_at": now,
                    "due_at": due,
                }
                for event_id, name in rows
                for plugin in self.events.subscribers.get(name, [])
            ]
            if deliveries:
                session.execute(insert(EventDelivery), deliveries)
            session.execute(
                update(OutboxEvent).where(OutboxEvent.id.in_([r[0] for r in rows])).values(published_at=now)
            )
            # Flush the rows before publishing: a worker receiving the message waits on our row locks
            # and then finds its delivery committed.
            session.flush()
            self._publish(deliveries)
        return len(rows)

    def republish_due(self) -> int:
        """Publish again the open deliveries whose ``due_at`` has passed; returns how many."""
        with self.site.sessions() as session, session.begin():
            now = utcnow()
            rows = session.execute(
                select(EventDelivery.event_id, EventDelivery.plugin)
                .where(EventDelivery.status.in_(OPEN_STATUSES), EventDelivery.due_at <= now)
                .order_by(EventDelivery.due_at)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            session.execute(
                update(EventDelivery)
                .where(tuple_(EventDelivery.event_id, EventDelivery.plugin).in_([tuple(r) for r in rows]))
                .values(due_at=now + self.policy.redelivery, published_at=now)
            )
            self._publish([{"event_id": e, "plugin": p} for e, p in rows])
        return len(rows)

    def _publish(self, deliveries: list[dict[str, Any]]) -> None:
        for delivery in deliveries:
            self.bus.publish(delivery["event_id"], delivery["plugin"])
        metrics.PUBLISHED.inc(len(deliveries))

    def run_once(self) -> int:
        """One pass: new events, then due deliveries."""
        return self.publish_new() + self.republish_due()

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set; sleeps when idle (until a commit wakes it or the poll
        interval passes), backs off while the broker is down."""
        idle = self.site.settings.events_relay_interval
        signal = relay_signal(self.site)
        listener_stop = threading.Event()
        start_listener(self.site, listener_stop)
        try:
            self._loop(stop, signal, idle)
        finally:
            listener_stop.set()

    def _loop(self, stop: threading.Event, signal: threading.Event, idle: float) -> None:
        failures = 0
        while not stop.is_set():
            signal.clear()  # cleared before the pass: a commit during the pass wakes the next wait
            try:
                done = self.run_once()
            except Exception as exc:
                failures += 1
                wait = min(MAX_ERROR_BACKOFF, idle * 2**failures)
                log.warning(
                    "relay pass failed (%s: %s); events stay pending, retrying in %.1fs",
                    type(exc).__name__,
                    exc,
                    wait,
                    extra={"failures": failures},
                )
                stop.wait(wait)
                continue
            if failures:
                log.info("relay recovered after %d failed passes", failures)
                failures = 0
            if not done:
                _sleep(stop, signal, idle, self.site.settings.events_relay_coalesce)


def _sleep(stop: threading.Event, signal: threading.Event, idle: float, coalesce: float) -> None:
    """Wait until a commit signals, ``stop`` is set or ``idle`` seconds pass (stop checked every 0.2 s).

    Once signalled, wait ``coalesce`` seconds more: under a steady stream of commits one pass then
    publishes the few events of that window together instead of one pass per event.
    """
    deadline = time.monotonic() + idle
    while not stop.is_set() and not signal.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        signal.wait(min(remaining, 0.2))
    if signal.is_set() and coalesce > 0:
        stop.wait(coalesce)


def start_relay_thread(relay: Relay, stop: threading.Event) -> threading.Thread:
    """Run ``relay`` in a daemon thread until ``stop`` is set."""
    thread = threading.Thread(target=relay.run, args=(stop,), name="erp-event-relay", daemon=True)
    thread.start()
    return thread
