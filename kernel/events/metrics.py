"""Prometheus metrics of the event bus (prometheus-client; multiprocess-safe when
``PROMETHEUS_MULTIPROC_DIR`` is set, as it is for ``erp worker`` in production)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_BACKLOG = Gauge(
    "erp_events_backlog",
    "Events not yet handled: unpublished outbox rows plus open deliveries (pending or failed).",
    multiprocess_mode="livemax",
)
DEAD = Gauge(
    "erp_events_dead",
    "Deliveries in the dead state, waiting for an operator to redeliver them.",
    multiprocess_mode="livemax",
)
LAG = Histogram(
    "erp_event_lag_seconds",
    "Time from emit (the emitter's commit) to the subscriber's handling transaction committing.",
    ["event", "plugin"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
HANDLER_FAILURES = Counter(
    "erp_event_handler_failures_total",
    "Failed handler attempts (exceptions and time limits).",
    ["event", "plugin"],
)
DEAD_LETTERED = Counter(
    "erp_event_dead_lettered_total",
    "Deliveries that reached the dead state.",
    ["event", "plugin"],
)
PUBLISHED = Counter(
    "erp_event_messages_published_total",
    "Messages the relay handed to the broker (first publications and republications).",
)
