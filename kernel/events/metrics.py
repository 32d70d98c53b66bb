"""Prometheus metrics of the event bus (prometheus-client; multiprocess-safe when
``PROMETHEUS_MULTIPROC_DIR`` is set, as it is for ``erp worker`` in production).

The backlog and dead-letter gauges are not kept here: /metrics computes them from the outbox tables at
scrape time (``erp_events_outbox_backlog``, ``erp_events_dead``), the truth shared by every process.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from kernel.metrics.registry import KERNEL_REGISTRY

LAG = Histogram(
    "erp_event_lag_seconds",
    "Time from emit (the emitter's commit) to the subscriber's handling transaction committing.",
    ["event", "plugin"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
    registry=KERNEL_REGISTRY,
)
HANDLER_FAILURES = Counter(
    "erp_event_handler_failures_total",
    "Failed handler attempts (exceptions and time limits).",
    ["event", "plugin"],
    registry=KERNEL_REGISTRY,
)
DEAD_LETTERED = Counter(
    "erp_event_dead_lettered_total",
    "Deliveries that reached the dead state.",
    ["event", "plugin"],
    registry=KERNEL_REGISTRY,
)
PUBLISHED = Counter(
    "erp_event_messages_published_total",
    "Messages the relay handed to the broker (first publications and republications).",
    registry=KERNEL_REGISTRY,
)
