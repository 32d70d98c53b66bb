"""Hook implementations of the `ppic` plugin (thin: the logic lives in its service modules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kernel import KERNEL_API_VERSION
from kernel.config import Settings
from kernel.plugins import PluginManifest, hookimpl

if TYPE_CHECKING:
    from kernel.events import EventEnvelope

manifest = PluginManifest(
    name="ppic",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=("production", "warehouse", "quality"),
    description="Sales orders, MO planning and release, dashboard, reports, MRP, alerts.",
)


@hookimpl
def erp_models() -> Sequence[type[Any]]:
    from erp_ppic.models import MODELS
    from erp_ppic.models_live import MODELS as LIVE_MODELS

    return [*MODELS, *LIVE_MODELS]


@hookimpl
def erp_migrations() -> Path:
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def erp_routers() -> Sequence[Any]:
    from erp_ppic.routes import LIVE_ROUTERS, mo, reports, sales

    return [sales.router, mo.router, reports.router, *LIVE_ROUTERS]


@hookimpl
def erp_websockets() -> Sequence[Any]:
    from erp_ppic.ws import ws_router

    return [ws_router]


@hookimpl
def erp_permissions() -> Sequence[Any]:
    from erp_ppic.permissions import PERMISSIONS

    return PERMISSIONS


@hookimpl
def erp_demo_data(session: Session, settings: Settings) -> None:
    from erp_ppic.demo import load_demo_data

    load_demo_data(session)


@hookimpl
def erp_periodic_jobs() -> Sequence[Any]:
    from erp_ppic.alerts import escalation_job
    from erp_ppic.daily_report import daily_report_job
    from kernel.scheduler import PeriodicJob

    return [
        PeriodicJob(
            name="ppic.daily_report",
            run=daily_report_job,
            cron="0 8 * * *",
            description="Store the report of the production day that ended at midnight.",
            max_delay=timedelta(hours=12),
        ),
        PeriodicJob(
            name="ppic.alerts",
            run=escalation_job,
            every_seconds=60,
            description="Raise late-SPK alerts and escalate pending alerts after their delays.",
        ),
    ]


@hookimpl
def erp_metrics() -> Sequence[Any]:
    from erp_ppic.metrics_live import alerts_open

    return [alerts_open]


# --- events of other plugins --------------------------------------------------------------------


@hookimpl
def on_po_received(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_ppic.release import handle_po_received

    handle_po_received(session, event=event)


@hookimpl
def on_inspection_recorded(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_ppic.dashboard import dashboard_changed

    dashboard_changed(session, reason="inspection_recorded")


@hookimpl
def on_inspection_failed(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_ppic.alerts import alert_from_failed_inspection
    from erp_ppic.dashboard import dashboard_changed

    alert_from_failed_inspection(session, payload=event.payload)
    dashboard_changed(session, reason="inspection_failed")


@hookimpl
def on_transfer_blocked(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_ppic.alerts import alert_from_blocked_transfer

    alert_from_blocked_transfer(session, event_id=str(event.id), payload=event.payload)


@hookimpl
def on_stock_moved(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_ppic.alerts import alerts_from_shortfalls
    from erp_ppic.dashboard import dashboard_changed

    alerts_from_shortfalls(session, payload=event.payload)
    dashboard_changed(session, reason="stock_moved")


@hookimpl
def on_daily_input_posted(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_ppic.dashboard import dashboard_changed

    dashboard_changed(session, reason="daily_input_posted")


@hookimpl
def on_spk_started(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_ppic.dashboard import dashboard_changed

    dashboard_changed(session, reason="spk_started")


@hookimpl
def on_spk_completed(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_ppic.dashboard import dashboard_changed

    dashboard_changed(session, reason="spk_completed")


@hookimpl
def on_mo_released(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_ppic.dashboard import dashboard_changed

    dashboard_changed(session, reason="mo_released")
