"""Hook implementations of the `ppic` plugin (thin: the logic lives in its service modules)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kernel import KERNEL_API_VERSION
from kernel.config import Settings
from kernel.plugins import PluginManifest, hookimpl

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

    return MODELS


@hookimpl
def erp_migrations() -> Path:
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def erp_routers() -> Sequence[Any]:
    from erp_ppic.routes import mo, reports, sales

    return [sales.router, mo.router, reports.router]


@hookimpl
def erp_permissions() -> Sequence[Any]:
    from erp_ppic.permissions import PERMISSIONS

    return PERMISSIONS


@hookimpl
def erp_demo_data(session: Session, settings: Settings) -> None:
    from erp_ppic.demo import load_demo_data

    load_demo_data(session)


@hookimpl
def on_po_received(session: Session, event: Any) -> None:
    from erp_ppic.release import handle_po_received

    handle_po_received(session, event=event)
