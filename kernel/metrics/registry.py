"""The kernel's metric objects and the small counter API other kernel parts use.

Names follow Prometheus conventions: ``erp_`` prefix, base units (seconds, bytes), ``_total`` on
counters. Every name here is used by ``deploy/prometheus`` rules or ``deploy/grafana`` dashboards, and a
test checks that each one used there appears in a real scrape.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # prometheus_client opens its per-process files as soon as a metric exists: below, at import.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

KERNEL_REGISTRY = CollectorRegistry(auto_describe=False)
"""Holds the kernel's metrics in single-process mode (ignored in multiprocess mode: files are read)."""

# Decided by prometheus_client when it was imported, from PROMETHEUS_MULTIPROC_DIR; mirrored here so the
# scrape reads the files exactly when the values are written to files.
MULTIPROCESS = values.ValueClass is not values.MutexValue

# 0.2 s is the seed's p95 target; keep a bucket boundary on it so the alert is exact.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

http_requests = Counter(
    "erp_http_requests",
    "HTTP requests handled, by method, route template and status code.",
    ["method", "route", "status"],
    registry=KERNEL_REGISTRY,
)
http_request_duration = Histogram(
    "erp_http_request_duration_seconds",
    "Time from request start to the last body byte, by method, route template and status code.",
    ["method", "route", "status"],
    buckets=HTTP_BUCKETS,
    registry=KERNEL_REGISTRY,
)
http_requests_in_progress = Gauge(
    "erp_http_requests_in_progress",
    "HTTP requests being handled right now (summed over live workers).",
    registry=KERNEL_REGISTRY,
    multiprocess_mode="livesum",
)
db_query_duration = Histogram(
    "erp_db_query_duration_seconds",
    "Database statement execution time, by statement kind (select, insert, update, delete, other).",
    ["operation"],
    buckets=DB_BUCKETS,
    registry=KERNEL_REGISTRY,
)
db_query_errors = Counter(
    "erp_db_query_errors",
    "Database statements that raised, by statement kind.",
    ["operation"],
    registry=KERNEL_REGISTRY,
)
db_pool_in_use = Gauge(
    "erp_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live workers).",
    registry=KERNEL_REGISTRY,
    multiprocess_mode="livesum",
)
# Every statement kind starts at 0, so the error series exist (and dashboards show 0) before a failure.
for _operation in ("select", "insert", "update", "delete", "other"):
    db_query_errors.labels(operation=_operation)
cache_requests = Counter(
    "erp_cache_requests",
    "Cache lookups by cache name and result (hit or miss).",
    ["cache", "result"],
    registry=KERNEL_REGISTRY,
)

# The kernel's own cache reports from the first scrape on (the hit-rate panel has a series to draw).
for _result in ("hit", "miss"):
    cache_requests.labels(cache="principals", result=_result)


def cache_hit(cache: str) -> None:
    """Count one cache lookup that found its value (``cache`` is a short fixed name, e.g. "permissions")."""
    cache_requests.labels(cache=cache, result="hit").inc()


def cache_miss(cache: str) -> None:
    """Count one cache lookup that had to compute or load its value."""
    cache_requests.labels(cache=cache, result="miss").inc()
