"""Drills with the real Redis broker, real `erp worker` processes and PostgreSQL: workers killed with
SIGKILL, every message delivered twice, the broker stopped, the relay killed, a poison message.

Each drill ends with the same proof: every event handled by each subscriber, exactly once.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from dramatiq.middleware import Middleware
from erp_example.service import create_note

from kernel.events.declare import event_registry
from kernel.events.models import EventDelivery, EventInbox, OutboxEvent
from kernel.events.relay import Relay, start_relay_thread
from kernel.events.worker import site_bus
from kernel.testing import wait_until
from tests.events.conftest import (
    FAST_RETRIES,
    PLUGINS,
    add_rule,
    assert_exactly_once,
    count,
    delivery,
    grouped_count,
)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayRedis:
    """A private redis-server that a test may stop and start again (never the shared one)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(up, timeout=10)
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def redis_events(make_site, broker_namespace: str, redis_url: str) -> Any:
    """Factory: a site whose broker is the test Redis (db 10, this session's namespace)."""

    def factory(**overrides: Any) -> Any:
        settings = {
            "broker": "redis",
            "broker_url": redis_url,
            "broker_namespace": broker_namespace,
            **FAST_RETRIES,
            **overrides,
        }
        return make_site(PLUGINS, **settings)

    return factory


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()


def _emit_notes(site: Any, n: int, *, per_second: float | None = None, prefix: str = "n") -> None:
    for i in range(n):
        with site.sessions.begin() as session:
            create_note(session, text=f"{prefix}{i}")
        if per_second:
            time.sleep(1 / per_second)


def _all_handled(site: Any, events: int) -> bool:
    return count(site, EventInbox) == 2 * events


def test_a_thousand_events_survive_five_sigkilled_workers(redis_events, event_worker) -> None:
    # Kills may cut the same delivery short more than once; they must not exhaust its attempts.
    site = redis_events(events_max_attempts=10)
    worker = event_worker(site.settings, processes=2, threads=4)
    emitter = threading.Thread(target=_emit_notes, args=(site, 1000), kwargs={"per_second": 125})
    emitter.start()
    killed = []
    handled_at_kill = []
    wait_until(lambda: count(site, EventInbox) > 0, timeout=30)
    while len(killed) < 5:
        wait_until(lambda: len(worker.worker_pids()) == 2, timeout=30)
        time.sleep(1.2)
        handled_at_kill.append(count(site, EventInbox))
        killed.append(worker.kill_worker())
    emitter.join()
    try:
        wait_until(lambda: _all_handled(site, 1000), timeout=120, interval=0.5)
    except AssertionError:
        statuses = grouped_count(site, EventDelivery.status)
        pytest.fail(f"not all handled ({statuses}); worker log:\n{worker.log_tail()}")
    assert len(set(killed)) == 5
    # The kills landed while events were flowing, not before the first or after the last.
    assert handled_at_kill[0] > 0 and handled_at_kill[-1] < 2000
    assert_exactly_once(site, 1000)


class EnqueueTwice(Middleware):
    """Puts every message on the broker a second time: the worst duplicate delivery can get."""

    def __init__(self) -> None:
        self.originals = 0
        self.duplicates = 0

    def after_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        if message.options.get("duplicate"):
            self.duplicates += 1
        else:
            self.originals += 1
            broker.enqueue(message.copy(options={"duplicate": True}))


def test_every_message_delivered_twice_still_has_one_effect(redis_events, event_worker, redis_url) -> None:
    site = redis_events()
    bus = site_bus(site)
    twice = EnqueueTwice()
    bus.broker.add_middleware(twice)
    stop = threading.Event()
    relay = start_relay_thread(Relay(site, event_registry(site.registry), bus), stop)
    worker = event_worker(site.settings, processes=2, threads=4, relay=False)
    wait_until(lambda: len(worker.worker_pids()) == 2, timeout=30)
    try:
        _emit_notes(site, 300)
        wait_until(lambda: _all_handled(site, 300), timeout=60, interval=0.2)
        # Every duplicate was consumed and acknowledged too, not left waiting in a queue.
        client = redis.Redis.from_url(redis_url)
        ns = site.settings.broker_namespace
        wait_until(lambda: all(client.hlen(f"{ns}:{q}.msgs") == 0 for q in bus.queues.values()), timeout=30)
        client.close()
    finally:
        stop.set()
        relay.join()
        bus.close()
    # 600 deliveries, each published at least once (more if it waited past events_redeliver_after).
    assert twice.originals >= 600
    assert twice.duplicates == twice.originals
    assert_exactly_once(site, 300)
    worker.stop()


def test_broker_stopped_during_200_requests(
    make_client, event_worker, throwaway_redis, broker_namespace, auth_headers
) -> None:
    client = make_client(
        PLUGINS,
        broker="redis",
        broker_url=throwaway_redis.url,
        broker_namespace=broker_namespace,
        **FAST_RETRIES,
    )
    client.headers.update(auth_headers(client, "Warehouse Admin"))
    site = client.app.state.site
    worker = event_worker(site.settings, processes=2, threads=4)
    resp = client.post("/api/v1/example/notes", json={"text": "before"})
    assert resp.status_code == 201
    wait_until(lambda: _all_handled(site, 1), timeout=30)

    throwaway_redis.stop()
    statuses = [
        client.post("/api/v1/example/notes", json={"text": f"during {i}"}).status_code for i in range(200)
    ]
    assert statuses == [201] * 200
    time.sleep(1.0)
    # Nothing can go out while the broker is down: the events wait in the outbox.
    assert count(site, OutboxEvent, OutboxEvent.published_at.is_(None)) == 200
    assert count(site, EventInbox) == 2

    throwaway_redis.start()
    try:
        wait_until(lambda: _all_handled(site, 201), timeout=90, interval=0.5)
    except AssertionError:
        pytest.fail(f"backlog did not drain; worker log:\n{worker.log_tail()}")
    assert_exactly_once(site, 201)


def test_messages_lost_by_a_restarted_broker_are_published_again(
    redis_events, event_worker, throwaway_redis
) -> None:
    site = redis_events(broker_url=throwaway_redis.url, events_redeliver_after=2.0)
    relay_only = event_worker(site.settings, processes=0)
    _emit_notes(site, 50)
    wait_until(lambda: count(site, OutboxEvent, OutboxEvent.published_at.is_(None)) == 0, timeout=30)
    # Published into a broker without persistence, and the broker restarts before any worker ran.
    throwaway_redis.stop()
    throwaway_redis.start()
    workers = event_worker(site.settings, processes=1, threads=4, relay=False)
    try:
        wait_until(lambda: _all_handled(site, 50), timeout=60, interval=0.3)
    except AssertionError:
        pytest.fail(f"lost messages not republished:\n{relay_only.log_tail()}\n{workers.log_tail()}")
    assert_exactly_once(site, 50)


def test_events_committed_before_a_relay_was_killed_are_published_by_the_next(
    redis_events, event_worker
) -> None:
    # The relay can't reach its broker, so committed events sit unpublished: then the process dies,
    # which is what a crash between commit and publish leaves behind.
    dead_port = _free_port()
    site = redis_events(broker_url=f"redis://127.0.0.1:{dead_port}/0")
    doomed = event_worker(site.settings, processes=1)
    _emit_notes(site, 40)
    time.sleep(1.0)
    assert count(site, OutboxEvent, OutboxEvent.published_at.is_(None)) == 40
    doomed.kill()

    healthy = redis_events()
    restarted = event_worker(healthy.settings, processes=1)
    wait_until(lambda: _all_handled(healthy, 40), timeout=60, interval=0.3)
    assert_exactly_once(healthy, 40)

    # And a whole worker (relay included) killed mid-stream loses nothing either.
    emitter = threading.Thread(
        target=_emit_notes, args=(healthy, 300), kwargs={"per_second": 150, "prefix": "m"}
    )
    emitter.start()
    time.sleep(1.0)
    restarted.kill()
    event_worker(healthy.settings, processes=2)
    emitter.join()
    wait_until(lambda: _all_handled(healthy, 340), timeout=90, interval=0.3)
    assert_exactly_once(healthy, 340)


def test_a_message_that_kills_its_worker_ends_dead_instead_of_looping(redis_events, event_worker) -> None:
    site = redis_events(events_max_attempts=2)
    add_rule(site, "poison", "kill")
    # The poison kills every handler running in its process; keep the example's deliveries elsewhere.
    worker = event_worker(
        site.settings, processes=1, threads=2, queues="example_audit", env={"ERP_EXAMPLE_AUDIT_MAY_KILL": "1"}
    )
    event_worker(site.settings, processes=1, threads=2, queues="example", relay=False)
    with site.sessions.begin() as session:
        create_note(session, text="poison")
    with site.sessions() as session:
        from sqlalchemy import select

        event_id = session.scalars(select(OutboxEvent.id)).one()

    def dead() -> bool:
        row = delivery(site, event_id, "example_audit")
        return row is not None and row.status == "dead"

    try:
        wait_until(dead, timeout=60, interval=0.3)
    except AssertionError:
        pytest.fail(f"poison message not dead:\n{worker.log_tail()}")
    row = delivery(site, event_id, "example_audit")
    assert row.attempts == 2
    assert "did not finish" in row.last_error
    assert delivery(site, event_id, "example").status == "delivered"
    # The replaced worker goes on delivering other events.
    with site.sessions.begin() as session:
        create_note(session, text="wholesome")
    wait_until(lambda: count(site, EventInbox) == 3, timeout=30)


def test_rabbitmq_broker_delivers_exactly_once(make_site, event_worker, broker_namespace) -> None:
    pika = pytest.importorskip("pika")
    url = "amqp://guest:guest@127.0.0.1:5672/"
    site = make_site(
        PLUGINS, broker="rabbitmq", broker_url=url, broker_namespace=broker_namespace, **FAST_RETRIES
    )
    event_worker(site.settings, processes=1, threads=4)
    try:
        _emit_notes(site, 50)
        wait_until(lambda: _all_handled(site, 50), timeout=60, interval=0.3)
        assert_exactly_once(site, 50)
    finally:
        conn = pika.BlockingConnection(pika.URLParameters(url))
        channel = conn.channel()
        for plugin in [*PLUGINS, "kernel"]:
            for suffix in ("", ".DQ", ".XQ"):
                channel.queue_delete(f"{broker_namespace}.events.{plugin}{suffix}")
        conn.close()
