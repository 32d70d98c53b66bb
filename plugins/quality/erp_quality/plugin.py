"""Hook implementations of the `quality` plugin (thin: the logic lives in its service modules)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kernel import KERNEL_API_VERSION
from kernel.config import Settings
from kernel.events import Event, EventEnvelope
from kernel.plugins import PluginManifest, hookimpl

manifest = PluginManifest(
    name="quality",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=("production", "warehouse"),
    hookspecs="erp_quality.hookspecs",
    description="Inspections, lab tests, segregation and defect analysis.",
)


@hookimpl
def erp_models() -> Sequence[type[Any]]:
    from erp_quality.models import MODELS

    return MODELS


@hookimpl
def erp_migrations() -> Path:
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def erp_permissions() -> Sequence[Any]:
    from erp_quality.permissions import PERMISSIONS

    return PERMISSIONS


@hookimpl
def erp_routers() -> Sequence[Any]:
    from erp_quality.routes import routers

    return routers


@hookimpl
def erp_events() -> Sequence[Event[Any]]:
    from erp_quality.events import BATCH_RELEASED, INSPECTION_FAILED, INSPECTION_RECORDED

    return [INSPECTION_RECORDED, INSPECTION_FAILED, BATCH_RELEASED]


@hookimpl
def erp_demo_data(session: Session, settings: Settings) -> None:
    from erp_quality.demo import load_demo_data

    load_demo_data(session)


@hookimpl
def on_spk_completed(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_quality.inspections import final_inspection_for_completed_spk

    final_inspection_for_completed_spk(session, payload=event.payload)


@hookimpl
def erp_metrics() -> Sequence[Any]:
    from erp_quality.metrics import pass_rate_today

    return [pass_rate_today]
