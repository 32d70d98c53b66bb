"""Delivering one (event, plugin) message: claim an attempt, run the handler, record the outcome.

Three short transactions, so that what a crash leaves behind is always recoverable:

1. claim: count the attempt and take a lease (committed before the handler runs, so a handler that
   kills its worker still uses up an attempt); a delivery that is done, dead, not yet due or leased to
   a live attempt is left alone;
2. handle: insert (event, plugin) into the inbox, call the plugin's hook and mark the delivery
   delivered, all in one transaction; a duplicate message finds the inbox row (or waits on the
   concurrent insert) and has no effect;
3. on failure: record the error and traceback and schedule the next attempt with backoff, or mark the
   delivery dead after the last attempt.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from dramatiq.middleware import Interrupt, TimeLimitExceeded
from sqlalchemy import and_, exists, func, or_, select, text, update
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.db import conflict_insert
from kernel.events import metrics
from kernel.events.declare import EventEnvelope, EventRegistry
from kernel.events.models import (
    DEAD,
    DELIVERED,
    FAILED,
    OPEN_STATUSES,
    PENDING,
    EventDelivery,
    EventInbox,
    OutboxEvent,
)
from kernel.events.policy import RetryPolicy
from kernel.logs import request_id_var
from kernel.site import Site

log = logging.getLogger("kernel.events")

Outcome = Literal["delivered", "duplicate", "failed", "dead", "skipped", "deferred", "unknown"]
ORDER_DEFER = timedelta(milliseconds=250)
"""How long an event waits for an earlier event of its aggregate before it is tried again."""


@dataclass
class _Claim:
    event: OutboxEvent
    attempts: int


def _earlier_open(session: Session, event: OutboxEvent, plugin: str) -> bool:
    """An earlier event of the same aggregate is still owed to ``plugin`` (or not even published)."""
    earlier = OutboxEvent.__table__.alias("earlier")
    open_delivery = exists().where(
        EventDelivery.event_id == earlier.c.id,
        EventDelivery.plugin == plugin,
        EventDelivery.status.in_(OPEN_STATUSES),
    )
    query = select(
        exists().where(
            earlier.c.aggregate == event.aggregate,
            earlier.c.seq < event.seq,
            or_(earlier.c.published_at.is_(None), open_delivery),
        )
    )
    return bool(session.scalar(query))


def _wake_next(session: Session, event: OutboxEvent, plugin: str, now: datetime) -> None:
    """Make the next event of the aggregate due now: it may have been deferred waiting for this one.

    If it was not deferred (its message still queued), this costs one harmless duplicate message.
    """
    following = (
        select(OutboxEvent.id)
        .where(OutboxEvent.aggregate == event.aggregate, OutboxEvent.seq > event.seq)
        .order_by(OutboxEvent.seq)
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        update(EventDelivery)
        .where(
            EventDelivery.event_id == following,
            EventDelivery.plugin == plugin,
            EventDelivery.status.in_(OPEN_STATUSES),
            EventDelivery.lease_until.is_(None),
            EventDelivery.due_at > now,
            EventDelivery.not_before.is_(None),
        )
        .values(due_at=now)
    )


def _claim(site: Site, policy: RetryPolicy, event_id: uuid.UUID, plugin: str) -> _Claim | Outcome:
    with site.sessions() as session, session.begin():
        event = session.scalar(select(OutboxEvent).where(OutboxEvent.id == event_id))
        if event is None:
            return "unknown"
        if event.published_at is None:
            # The relay that published this message has not committed yet: wait for its row lock
            # (it commits right after publishing), then read again.
            lock = select(OutboxEvent.seq).where(OutboxEvent.id == event_id).with_for_update(read=True)
            session.execute(lock)
            session.expire_all()
            event = session.scalar(select(OutboxEvent).where(OutboxEvent.id == event_id))
            if event is None or event.published_at is None:
                return "unknown"  # that relay rolled back; the row will be published again
        now = utcnow()
        claimable = and_(
            EventDelivery.event_id == event_id,
            EventDelivery.plugin == plugin,
            EventDelivery.status.in_(OPEN_STATUSES),
            or_(EventDelivery.lease_until.is_(None), EventDelivery.lease_until <= now),
            or_(EventDelivery.not_before.is_(None), EventDelivery.not_before <= now),
        )
        if event.aggregate is not None and _earlier_open(session, event, plugin):
            session.execute(update(EventDelivery).where(claimable).values(due_at=now + ORDER_DEFER))
            return "deferred"
        row = session.execute(
            update(EventDelivery)
            .where(claimable)
            .values(
                attempts=EventDelivery.attempts + 1,
                lease_until=now + policy.lease,
                due_at=now + policy.lease,
                last_attempt_at=now,
            )
            .returning(EventDelivery.attempts)
        ).first()
        if row is None:
            return "skipped"
        attempts = row[0]
        if attempts > policy.max_attempts:
            # The previous attempt never reported back: it was killed or hung past its lease.
            error = (
                f"gave up after {policy.max_attempts} attempts; attempt {attempts - 1} did not finish "
                "(worker killed or stuck past its time limit)"
            )
            session.execute(
                update(EventDelivery)
                .where(EventDelivery.event_id == event_id, EventDelivery.plugin == plugin)
                .values(
                    status=DEAD, attempts=policy.max_attempts, lease_until=None, due_at=None, last_error=error
                )
            )
            metrics.DEAD_LETTERED.labels(event.name, plugin).inc()
            log.error("event %s %s to %s is dead: %s", event.name, event_id, plugin, error)
            return "dead"
        session.expunge(event)
        return _Claim(event=event, attempts=attempts)


def _handle(site: Site, events: EventRegistry, claim: _Claim, plugin: str) -> Outcome:
    event = claim.event
    with site.sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # A handler stuck on a lock is a blocked C call that the time limit cannot interrupt.
            ms = int(site.settings.events_time_limit * 1000)
            session.execute(text(f"SET LOCAL statement_timeout = {ms}"))
        inserted = session.execute(
            conflict_insert(session, EventInbox)
            .values(event_id=event.id, plugin=plugin, handled_at=utcnow())
            .on_conflict_do_nothing()
            .returning(EventInbox.event_id)
        ).first()
        if inserted is not None:
            handler = events.handler(event.name, plugin)
            if handler is None:
                raise LookupError(f"plugin {plugin!r} no longer implements on_{event.name}")
            declared = events.get(event.name).event
            envelope: EventEnvelope[Any] = EventEnvelope(
                id=event.id,
                name=event.name,
                version=declared.version,
                payload=declared.load(event.version, event.payload),
                aggregate=event.aggregate,
                emitted_at=event.emitted_at,
                request_id=event.request_id,
                attempt=claim.attempts,
            )
            handler(session=session, event=envelope)
        handled_at = utcnow()
        session.execute(
            update(EventDelivery)
            .where(EventDelivery.event_id == event.id, EventDelivery.plugin == plugin)
            .values(status=DELIVERED, handled_at=handled_at, lease_until=None, due_at=None, not_before=None)
        )
        if event.aggregate is not None:
            _wake_next(session, event, plugin, handled_at)
    if inserted is None:
        return "duplicate"
    metrics.LAG.labels(event.name, plugin).observe(max(0.0, (utcnow() - event.emitted_at).total_seconds()))
    return "delivered"


def _record_failure(
    site: Site, policy: RetryPolicy, claim: _Claim, plugin: str, exc: BaseException
) -> Outcome:
    event = claim.event
    if isinstance(exc, TimeLimitExceeded):
        error = f"TimeLimitExceeded: the handler ran longer than {site.settings.events_time_limit:g}s"
    else:
        error = f"{type(exc).__name__}: {exc}"
    trace = "".join(traceback.format_exception(exc))
    dead = claim.attempts >= policy.max_attempts
    now = utcnow()
    next_try: datetime | None = None if dead else now + policy.backoff(claim.attempts)
    with site.sessions() as session, session.begin():
        # attempts is the fencing token: if our lease ran out and another attempt took over, it owns
        # the row now and this stale report is dropped.
        session.execute(
            update(EventDelivery)
            .where(
                EventDelivery.event_id == event.id,
                EventDelivery.plugin == plugin,
                EventDelivery.attempts == claim.attempts,
                EventDelivery.status.in_(OPEN_STATUSES),
            )
            .values(
                status=DEAD if dead else FAILED,
                lease_until=None,
                not_before=next_try,
                due_at=next_try,
                last_error=error[:2000],
                last_traceback=trace[-20000:],
            )
        )
    metrics.HANDLER_FAILURES.labels(event.name, plugin).inc()
    if dead:
        metrics.DEAD_LETTERED.labels(event.name, plugin).inc()
        log.error(
            "event %s %s to %s is dead after %d attempts: %s",
            event.name,
            event.id,
            plugin,
            claim.attempts,
            error,
        )
        return "dead"
    log.warning(
        "event %s %s to %s failed (attempt %d of %d): %s",
        event.name,
        event.id,
        plugin,
        claim.attempts,
        policy.max_attempts,
        error,
    )
    return "failed"


def deliver(site: Site, events: EventRegistry, event_id: uuid.UUID, plugin: str) -> Outcome:
    """Deliver ``event_id`` to ``plugin`` once: what the worker's actor runs for each message.

    Never raises for a handler's failure (the outcome is recorded in the delivery row); database
    errors propagate and the message is simply dropped: the relay publishes the delivery again.
    """
    policy = RetryPolicy.from_settings(site.settings)
    claim = _claim(site, policy, event_id, plugin)
    if not isinstance(claim, _Claim):
        return claim
    token = request_id_var.set(claim.event.request_id)
    try:
        return _handle(site, events, claim, plugin)
    except (Exception, Interrupt) as exc:
        return _record_failure(site, policy, claim, plugin, exc)
    finally:
        request_id_var.reset(token)


def open_count(session: Session) -> tuple[int, int]:
    """(backlog, dead): unpublished events plus open deliveries, and dead deliveries."""
    unpublished = (
        session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )
        or 0
    )
    counts = dict(
        session.execute(
            select(EventDelivery.status, func.count())
            .where(EventDelivery.status.in_((PENDING, FAILED, DEAD)))
            .group_by(EventDelivery.status)
        ).all()
    )
    return unpublished + counts.get(PENDING, 0) + counts.get(FAILED, 0), counts.get(DEAD, 0)
