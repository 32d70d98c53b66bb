"""``GET /metrics``: merge the kernel's counters with values computed at scrape time, for allowed scrapers.

Scrape-time values are computed by the one worker answering the scrape, so they are never summed over
workers: dependency health (``erp_dependency_up``), what runs (``erp_build_info``, ``erp_plugin_info``)
and the gauges plugins contribute through the ``erp_metrics`` hook.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import text

import kernel
from kernel.deps import SiteDep
from kernel.errors import PermissionDenied
from kernel.metrics.multiprocess import ENV, mark_dead_workers
from kernel.metrics.registry import KERNEL_REGISTRY, MULTIPROCESS
from kernel.site import Site

log = logging.getLogger("kernel.metrics")
router = APIRouter()
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> list[IpNetwork]:
    """Networks from addresses or CIDRs (``127.0.0.1``, ``10.0.0.0/8``, ``::1``). Raises ValueError."""
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries]


def address_allowed(address: str, networks: Iterable[IpNetwork]) -> bool:
    """True when ``address`` lies in one of ``networks`` (IPv4-mapped IPv6 counts as its IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)


class SiteCollector(Collector):
    """Values computed at scrape time from the site: dependency health, build, plugins, plugin gauges."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def collect(self) -> Iterator[Metric]:
        """Yield the scrape-time metric families."""
        from kernel.api.health import readiness_checks

        up = GaugeMetricFamily("erp_dependency_up", "1 when the dependency answers.", labels=["dependency"])
        for name, result in readiness_checks(self.site).items():
            up.add_metric([name], 1.0 if result == "ok" else 0.0)
        yield up
        build = GaugeMetricFamily(
            "erp_build_info", "The running kernel version (always 1).", labels=["version"]
        )
        build.add_metric([kernel.__version__], 1.0)
        yield build
        plugins = GaugeMetricFamily(
            "erp_plugin_info", "Enabled plugins and their versions (always 1).", labels=["plugin", "version"]
        )
        for plugin in self.site.registry.plugins:
            plugins.add_metric([plugin.name, plugin.manifest.version], 1.0)
        yield plugins
        yield from self._event_bus()
        yield from self._plugin_metrics()

    def _event_bus(self) -> Iterator[Metric]:
        """Backlog and dead letters, counted in the outbox tables: the same truth for every process."""
        from kernel.events.delivery import open_count

        try:
            with self.site.sessions() as session:
                backlog, dead = open_count(session)
        except Exception:
            log.exception("event bus gauges failed")
            return
        yield GaugeMetricFamily(
            "erp_events_outbox_backlog",
            "Events not yet handled: unpublished outbox rows plus open (pending or failed) deliveries.",
            value=backlog,
        )
        yield GaugeMetricFamily(
            "erp_events_dead",
            "Deliveries in the dead state, waiting for an operator to redeliver them.",
            value=dead,
        )

    def _plugin_metrics(self) -> Iterator[Metric]:
        status = GaugeMetricFamily(
            "erp_metrics_collector_up",
            "1 when a plugin's erp_metrics collector ran cleanly.",
            labels=["plugin", "collector"],
        )
        for plugin, collectors in self.site.registry.collect("erp_metrics"):
            for collector in collectors or []:
                name = getattr(collector, "__name__", type(collector).__name__)
                families = self._run(plugin.name, name, collector)
                status.add_metric([plugin.name, name], 0.0 if families is None else 1.0)
                yield from families or []
        yield status

    def _run(self, plugin: str, name: str, collector: object) -> list[Metric] | None:
        prefix = f"erp_{plugin}_"
        session = self.site.sessions()
        try:
            if session.get_bind().dialect.name == "postgresql":
                # A slow business query must not hang the scrape (Prometheus times out at 10 s).
                session.execute(text("SET LOCAL statement_timeout = '2s'"))
            families = list(collector(session))  # type: ignore[operator]
        except Exception:
            log.exception("metrics collector failed", extra={"plugin": plugin, "collector": name})
            return None
        finally:
            session.rollback()
            session.close()
        wrong = [f.name for f in families if not f.name.startswith(prefix)]
        if wrong:
            log.error(
                "metrics collector %s.%s: names must start with %r, got %s", plugin, name, prefix, wrong
            )
            return None
        return families


def multiprocess_dir() -> Path | None:
    """The directory worker metrics are written to, when this process runs in multiprocess mode."""
    configured = os.environ.get(ENV)
    return Path(configured) if MULTIPROCESS and configured else None


def render(site: Site) -> bytes:
    """The metrics exposition (text format) for one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is not None:
        mark_dead_workers(path)
        MultiProcessCollector(registry, str(path))
    else:
        registry.register(KERNEL_REGISTRY)
    registry.register(SiteCollector(site))
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, site: SiteDep) -> Response:
    """Prometheus scrape endpoint; only the configured scrape addresses (``metrics_allow``) may read it."""
    networks = site.services.get("metrics_allow")
    if networks is None:
        networks = site.services["metrics_allow"] = parse_networks(site.settings.metrics_allow)
    client = request.client.host if request.client else ""
    if not address_allowed(client, networks) and not _token_allows(request, site):
        raise PermissionDenied(
            f"metrics are readable only from the scrape addresses (metrics_allow), "
            f"not from {client!r}, or with a token holding kernel.metrics.view"
        )
    return Response(render(site), media_type=CONTENT_TYPE_LATEST)


def _token_allows(request: Request, site: Site) -> bool:
    """A user token holding ``kernel.metrics.view`` (an operator's browser or script) also may read."""
    if "authorization" not in request.headers:
        return False
    from kernel.auth.service import authenticate_connection
    from kernel.db import unit_of_work

    with unit_of_work(site.sessions) as session:
        return authenticate_connection(request, session).has("kernel.metrics.view")
