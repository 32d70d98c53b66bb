"""Prometheus metrics: what the kernel measures, how ``/metrics`` is built, and the plugin hook.

The metric objects live in :mod:`kernel.metrics.registry` (one set per process; with several uvicorn
workers they write to ``PROMETHEUS_MULTIPROC_DIR`` and the scrape merges the files). Scrape-time values
(dependency health, plugin gauges from ``erp_metrics``) are computed by the worker answering the scrape.
"""

from kernel.metrics.registry import cache_hit, cache_miss

__all__ = ["cache_hit", "cache_miss"]
