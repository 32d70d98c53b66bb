"""Hook implementations of the `warehouse` plugin (thin: the logic lives in its service modules)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kernel import KERNEL_API_VERSION
from kernel.config import Settings
from kernel.plugins import PluginManifest, hookimpl

manifest = PluginManifest(
    name="warehouse",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=(),
    hookspecs="erp_warehouse.hookspecs",
    description="Master data, stock ledger and balances, transfers between departments, purchase orders.",
)


@hookimpl
def erp_models() -> Sequence[type[Any]]:
    from erp_warehouse.models import MODELS

    return MODELS


@hookimpl
def erp_migrations() -> Path:
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def erp_permissions() -> Sequence[Any]:
    from erp_warehouse.permissions import PERMISSIONS

    return PERMISSIONS


@hookimpl
def erp_events() -> Sequence[Any]:
    from erp_warehouse.events import EVENTS

    return EVENTS


@hookimpl
def erp_routers() -> Sequence[Any]:
    from erp_warehouse.routes import routers

    return routers()


@hookimpl
def erp_checks() -> Sequence[Any]:
    from erp_warehouse.checks import CHECKS

    return CHECKS


@hookimpl
def erp_demo_data(session: Session, settings: Settings) -> None:
    from erp_warehouse.demo import load_demo_data

    load_demo_data(session)


@hookimpl
def erp_metrics() -> Sequence[Any]:
    from erp_warehouse.metrics import stock_below_minimum

    return [stock_below_minimum]
