"""The relay is woken by commits that emit events, so it can poll rarely without adding lag.

Every site here polls only every 60 s: an event handled within seconds was delivered because its commit
woke the relay (in process, or through PostgreSQL NOTIFY from another process).
"""

from __future__ import annotations

import threading
import time

from erp_example.service import create_note
from sqlalchemy import text

from kernel.db import unit_of_work
from kernel.events.declare import event_registry
from kernel.events.models import EventInbox
from kernel.events.relay import Relay, start_relay_thread
from kernel.events.wakeup import relay_signal
from kernel.events.worker import site_bus
from kernel.testing import wait_until
from tests.events.conftest import FAST_RETRIES, PLUGINS, count

SLOW_POLL = {**FAST_RETRIES, "events_relay_interval": 60.0}


def test_a_commit_in_the_same_process_wakes_the_embedded_relay(make_client, auth_headers) -> None:
    client = make_client(PLUGINS, **SLOW_POLL)
    client.headers.update(auth_headers(client, "Warehouse Admin"))
    site = client.app.state.site
    time.sleep(0.5)  # the relay's first pass is over: it now sleeps until woken or 60 s pass
    assert client.post("/api/v1/example/notes", json={"text": "wake up"}).status_code == 201
    wait_until(lambda: count(site, EventInbox) == 2, timeout=10)


def test_a_commit_in_another_process_wakes_the_relay_through_notify(
    make_site, event_worker, redis_url, broker_namespace
) -> None:
    settings = {"broker": "redis", "broker_url": redis_url, "broker_namespace": broker_namespace, **SLOW_POLL}
    site = make_site(PLUGINS, **settings)
    event_worker(site.settings, processes=1, threads=2)
    time.sleep(3)  # the worker's relay has started, listened and made its first pass
    started = time.monotonic()
    with unit_of_work(site.sessions) as session:
        create_note(session, text="from another process")
    wait_until(lambda: count(site, EventInbox) == 2, timeout=20)
    assert time.monotonic() - started < 20  # far below the 60 s poll: the NOTIFY woke it


def test_a_rolled_back_emit_does_not_signal(make_site) -> None:
    site = make_site(PLUGINS, broker="stub", **SLOW_POLL)
    signal = relay_signal(site)
    signal.clear()
    session = site.sessions()
    try:
        create_note(session, text="never committed")
        session.rollback()
    finally:
        session.close()
    assert not signal.is_set()
    with unit_of_work(site.sessions) as session:
        create_note(session, text="committed")
    assert signal.is_set()


def test_the_notify_is_sent_once_per_transaction_and_only_on_commit(make_site) -> None:
    site = make_site(PLUGINS, broker="stub", **SLOW_POLL)
    url = site.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    import psycopg

    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute("LISTEN erp_outbox")
        with unit_of_work(site.sessions) as session:
            create_note(session, text="one")
            create_note(session, text="two")
            session.execute(text("SELECT 1"))
            assert list(listener.notifies(timeout=0.3)) == []  # nothing before the commit
        notes = list(listener.notifies(timeout=1.0, stop_after=5))
    assert [n.channel for n in notes] == ["erp_outbox"]


def test_stopping_a_sleeping_relay_is_prompt(make_site) -> None:
    site = make_site(PLUGINS, **SLOW_POLL)
    stop = threading.Event()
    thread = start_relay_thread(Relay(site, event_registry(site.registry), site_bus(site)), stop)
    time.sleep(0.5)
    started = time.monotonic()
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive() and time.monotonic() - started < 2
