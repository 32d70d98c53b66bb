"""Waking the relay when events commit, so an idle relay need not poll the outbox many times a second.

A transaction that emitted events signals after it commits: in process through a ``threading.Event``
kept on the site (the embedded server's relay, and any relay in the emitting process), and across
processes through PostgreSQL ``NOTIFY`` (sent inside the transaction, so PostgreSQL delivers it only on
commit), which a listener thread beside each relay turns into the same ``threading.Event``. The relay
still polls every ``events_relay_interval`` seconds as a fallback: for deliveries that fall due again
(retries, expired leases), for notifications lost while a listener reconnects, and for rows written
by something other than ``emit``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from kernel.site import SESSION_INFO_KEY, Site

CHANNEL = "erp_outbox"
EMITTED_KEY = "erp_events_emitted"
log = logging.getLogger("kernel.events.relay")
_lock = threading.Lock()


def relay_signal(site: Site) -> threading.Event:
    """The site's "events committed" signal (created on first use), shared by emitters and relays."""
    signal = site.services.get("events_signal")
    if signal is None:
        with _lock:
            signal = site.services.setdefault("events_signal", threading.Event())
    assert isinstance(signal, threading.Event)
    return signal


def note_emitted(session: Session) -> None:
    """Called by ``emit``: the first event of a transaction also queues a NOTIFY on PostgreSQL."""
    if session.info.get(EMITTED_KEY):
        return
    session.info[EMITTED_KEY] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


@event.listens_for(Session, "after_commit")
def _signal_after_commit(session: Session) -> None:
    if not session.info.pop(EMITTED_KEY, False):
        return
    site = session.info.get(SESSION_INFO_KEY)
    if isinstance(site, Site):
        relay_signal(site).set()


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    # A rolled-back outer transaction emitted nothing (its NOTIFY is discarded by PostgreSQL too).
    if previous_transaction.parent is None:
        session.info.pop(EMITTED_KEY, None)


def start_listener(site: Site, stop: threading.Event) -> threading.Thread | None:
    """On PostgreSQL, a daemon thread LISTENing for commits of other processes; None elsewhere."""
    if site.engine.dialect.name != "postgresql":
        return None
    thread = threading.Thread(target=_listen, args=(site, stop), name="erp-event-listener", daemon=True)
    thread.start()
    return thread


def _listen(site: Site, stop: threading.Event) -> None:
    import psycopg

    url = site.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    signal = relay_signal(site)
    backoff = 0.5
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                backoff = 0.5
                signal.set()  # anything committed while we were not listening is picked up now
                while not stop.is_set():
                    for _ in conn.notifies(timeout=1.0):
                        signal.set()
        except Exception as exc:  # the fallback poll keeps events moving meanwhile
            log.warning("outbox listener lost its connection (%s); reconnecting", type(exc).__name__)
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)
