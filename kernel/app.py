"""The app factory: ``create_app(settings)`` builds the whole HTTP app from what plugins contribute."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

import kernel
from kernel.api import health
from kernel.audit.middleware import AuditMiddleware
from kernel.config import Settings, load_settings
from kernel.events.bus import DEFAULT_RABBITMQ_URL
from kernel.events.worker import install_embedded
from kernel.logs import configure_logging
from kernel.metrics import exposition
from kernel.metrics.http import MetricsMiddleware
from kernel.middleware import RequestContextMiddleware
from kernel.problems import install_problem_handlers
from kernel.rbac import check_routes, public
from kernel.rbac.permissions import declared_permissions
from kernel.site import Site, build_site

API_PREFIX = "/api/v1"


def _redis_check(url: str) -> Any:
    def check(site: Site) -> str:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"

    return check


def _amqp_check(url: str) -> Any:
    def check(site: Site) -> str:
        import pika

        params = pika.URLParameters(url)
        params.socket_timeout = 2
        params.blocked_connection_timeout = 2
        conn = pika.BlockingConnection(params)
        conn.close()
        return "ok"

    return check


def _readiness(settings: Settings) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    if settings.redis_url:
        checks["redis"] = _redis_check(settings.redis_url)
    if settings.broker == "redis":
        checks["broker"] = _redis_check(settings.broker_url or settings.redis_url)
    elif settings.broker == "rabbitmq":
        checks["broker"] = _amqp_check(settings.broker_url or DEFAULT_RABBITMQ_URL)
    return checks


def _embed_scheduler(site: Site) -> None:
    """Embedded mode: the API process also runs the periodic jobs (no `erp scheduler` needed)."""
    from kernel.scheduler import Scheduler

    holder: dict[str, Scheduler] = {}

    def start(site: Site) -> None:
        holder["scheduler"] = Scheduler(site)
        holder["scheduler"].start()

    def stop(site: Site) -> None:
        if "scheduler" in holder:
            holder["scheduler"].stop()

    site.services.setdefault("on_startup", []).append(start)
    site.services.setdefault("on_shutdown", []).append(stop)


def _sync_permissions(site: Site) -> None:
    """Record the declared permissions in the database (new ones with their default grants)."""
    from kernel.db import unit_of_work
    from kernel.rbac.sync import sync_permissions

    with unit_of_work(site.sessions) as session:
        sync_permissions(session, declared_permissions(site), production=site.settings.env == "production")


def create_app(settings: Settings | None = None, site: Site | None = None) -> FastAPI:
    """Build the app for ``settings`` (loaded from the environment when omitted).

    Mounts each enabled plugin's routers under ``/api/v1/<prefix>``; raises PluginError or ConfigError
    when the site cannot start.
    """
    settings = settings or load_settings()
    site = site or build_site(settings)
    site.services.setdefault("readiness", _readiness(settings))
    if settings.broker == "inprocess" and settings.embedded_background:
        _embed_scheduler(site)
    # Auth: permissions are collected (duplicates refused) before any route is mounted.
    permissions = declared_permissions(site)
    if _sync_permissions not in site.services.setdefault("on_startup", []):
        site.services["on_startup"].insert(0, _sync_permissions)
    if "events" not in site.services:
        install_embedded(site)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for start in site.services.get("on_startup", []):
            start(site)
        try:
            yield
        finally:
            for stop in reversed(site.services.get("on_shutdown", [])):
                stop(site)
            site.dispose()

    app = FastAPI(
        title=f"{settings.site_name} API",
        version=kernel.__version__,
        description="REST API of the plugin-based ERP. Every route under /api/v1 is contributed by the "
        "kernel or an enabled plugin.",
        lifespan=lifespan,
    )
    app.state.site = site
    install_problem_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        )
    app.add_middleware(AuditMiddleware, site=site, api_prefix=API_PREFIX)
    app.add_middleware(RequestContextMiddleware)
    # Outermost, so the measured time covers every other middleware too.
    app.add_middleware(MetricsMiddleware)
    app.include_router(health.router, dependencies=[Depends(public())])
    # /metrics checks its caller itself: a scrape address, or a user holding kernel.metrics.view.
    app.include_router(exposition.router, dependencies=[Depends(public())])
    for plugin, routers in site.registry.collect("erp_routers"):
        prefix = API_PREFIX + (f"/{plugin.manifest.prefix}" if plugin.manifest.prefix else "")
        for router in routers or []:
            app.include_router(router, prefix=prefix)
    for plugin, routers in site.registry.collect("erp_websockets"):
        for router in routers or []:
            app.include_router(router, prefix=f"/ws/{plugin.manifest.prefix}")
    # Every route names its permission (or is public); unknown permission names stop start-up here.
    check_routes(app, set(permissions), API_PREFIX)
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for uvicorn workers (``factory=True``): settings from the environment and erp.toml."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
