"""Running the bus: ``erp worker`` (a relay plus supervised Dramatiq worker processes) and the embedded
mode (relay and worker threads inside the API process, for the in-process broker)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dramatiq import Broker, Worker

from kernel.config import Settings
from kernel.events.bus import EventBus, build_bus
from kernel.events.declare import event_registry
from kernel.events.delivery import deliver
from kernel.events.relay import Relay, start_relay_thread
from kernel.site import Site, build_site

log = logging.getLogger("kernel.events.worker")

WORKER_TIMEOUT_MS = 25
"""How long an idle consumer waits between fetches at most: bounds the pick-up lag of a new message."""


def site_bus(site: Site, broker: Broker | None = None) -> EventBus:
    """The site's bus: its broker with the delivery actor and a queue per subscribing plugin."""
    events = event_registry(site.registry)

    def deliver_to(event_id: uuid.UUID, plugin: str) -> object:
        return deliver(site, events, event_id, plugin)

    return build_bus(site.settings, events.subscribing_plugins, deliver_to, broker)


def start_worker(bus: EventBus, *, threads: int, plugins: Sequence[str] | None = None) -> Worker:
    """Start Dramatiq worker threads consuming ``plugins``' queues (all queues when None)."""
    # The dramatiq CLI would announce the process boot; we run workers ourselves, and the TimeLimit
    # middleware only starts its watchdog thread on that announcement.
    bus.broker.emit_after("process_boot")
    worker = Worker(
        bus.broker, queues=bus.queues_for(plugins), worker_threads=threads, worker_timeout=WORKER_TIMEOUT_MS
    )
    worker.start()
    return worker


@dataclass
class EmbeddedEvents:
    """Relay and worker threads inside the API process (``erp serve`` with the in-process broker)."""

    site: Site
    threads: int
    bus: EventBus | None = None
    worker: Worker | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    relay_thread: threading.Thread | None = None

    def start(self, site: Site | None = None) -> None:
        """Start the worker threads, then the relay."""
        self.bus = site_bus(self.site)
        self.worker = start_worker(self.bus, threads=self.threads)
        relay = Relay(self.site, event_registry(self.site.registry), self.bus)
        self.relay_thread = start_relay_thread(relay, self.stop_event)

    def stop(self, site: Site | None = None) -> None:
        """Stop the relay, let running handlers finish, close the broker."""
        self.stop_event.set()
        if self.relay_thread is not None:
            self.relay_thread.join(timeout=10)
            self.relay_thread = None
        if self.worker is not None:
            self.worker.stop(timeout=int(self.site.settings.events_time_limit * 1000))
            self.worker = None
        if self.bus is not None:
            self.bus.close()
            self.bus = None


def install_embedded(site: Site) -> EmbeddedEvents | None:
    """Register the embedded relay and worker with the app's start-up and shut-down, when configured.

    On by default with the in-process broker (nothing else would deliver its messages); off with Redis
    and RabbitMQ, where ``erp worker`` runs them. ``events_embedded_worker`` overrides either way.
    """
    settings = site.settings
    wanted = settings.events_embedded_worker
    if wanted is None:
        wanted = settings.broker == "inprocess"
    event_registry(site.registry)  # a bad declaration stops start-up here, not at the first emit
    if not wanted:
        return None
    embedded = EmbeddedEvents(site, threads=settings.events_embedded_threads)
    site.services.setdefault("on_startup", []).append(embedded.start)
    site.services.setdefault("on_shutdown", []).append(embedded.stop)
    site.services["events"] = embedded
    return embedded


# --- erp worker ---------------------------------------------------------------------------------


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def worker_process_main(settings: Settings, threads: int, plugins: Sequence[str] | None, parent: int) -> None:
    """Body of one worker process: Dramatiq worker threads until SIGTERM or the parent is gone."""
    from kernel.logs import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    stop = threading.Event()
    _stop_on_signals(stop)
    site = build_site(settings)
    bus = site_bus(site)
    worker = start_worker(bus, threads=threads, plugins=plugins)
    log.info("worker process started", extra={"pid": os.getpid(), "threads": threads})
    try:
        # An orphan (the supervisor was killed) stops rather than consuming forever unsupervised.
        while not stop.wait(1.0) and os.getppid() == parent:
            pass
    finally:
        worker.stop(timeout=int(settings.events_time_limit * 1000))
        bus.close()
        site.dispose()


def run_worker(
    settings: Settings,
    *,
    processes: int,
    threads: int,
    plugins: Sequence[str] | None = None,
    relay: bool = True,
    stop: threading.Event | None = None,
) -> None:
    """``erp worker``: a relay thread and ``processes`` supervised worker processes until SIGTERM.

    A worker process that dies (killed, out of memory) is replaced; the attempts it had in hand are
    retried when their lease runs out, and count towards their maximum.
    """
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        _stop_on_signals(stop)
    site = build_site(settings)
    events = event_registry(site.registry)
    unknown = sorted(set(plugins or []) - set(events.subscribing_plugins))
    if unknown:
        log.warning("no events are delivered to %s (no such subscriber)", ", ".join(unknown))
    bus = site_bus(site)
    relay_thread = start_relay_thread(Relay(site, events, bus), stop) if relay else None
    ctx = multiprocessing.get_context("spawn")
    procs: list[Any] = [None] * processes

    def spawn(slot: int) -> None:
        proc = ctx.Process(
            target=worker_process_main,
            args=(settings, threads, plugins, os.getpid()),
            name=f"erp-worker-{slot}",
            daemon=False,
        )
        proc.start()
        procs[slot] = proc

    try:
        for slot in range(processes):
            spawn(slot)
        log.info("erp worker running", extra={"processes": processes, "threads": threads, "relay": relay})
        while not stop.wait(0.5):
            for slot, proc in enumerate(procs):
                if proc is not None and not proc.is_alive():
                    log.warning(
                        "worker process %s exited with %s; starting a new one", proc.pid, proc.exitcode
                    )
                    spawn(slot)
    finally:
        stop.set()
        for proc in procs:
            if proc is not None and proc.is_alive():
                proc.terminate()
        deadline = time.monotonic() + settings.events_time_limit + 5
        for proc in procs:
            if proc is not None:
                proc.join(timeout=max(0.1, deadline - time.monotonic()))
                if proc.is_alive():
                    proc.kill()
        if relay_thread is not None:
            relay_thread.join(timeout=10)
        bus.close()
        site.dispose()
