"""Hook implementations of the `production` plugin (thin: the logic lives in its service modules)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kernel import KERNEL_API_VERSION
from kernel.config import Settings
from kernel.plugins import PluginManifest, hookimpl

manifest = PluginManifest(
    name="production",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=("approval", "warehouse"),
    hookspecs="erp_production.hookspecs",
    description="BOMs, manufacturing orders and SPKs, auto-allocation, daily input, material debt.",
)


@hookimpl
def erp_models() -> Sequence[type[Any]]:
    from erp_production.models import MODELS

    return MODELS


@hookimpl
def erp_migrations() -> Path:
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def erp_routers() -> Sequence[Any]:
    from erp_production.routes import ROUTERS

    return ROUTERS


@hookimpl
def erp_permissions() -> Sequence[Any]:
    from erp_production.permissions import PERMISSIONS

    return PERMISSIONS


@hookimpl
def erp_events() -> Sequence[Any]:
    from erp_production.events import EVENTS

    return EVENTS


@hookimpl
def erp_checks() -> Sequence[Any]:
    from erp_production.checks import CHECKS

    return CHECKS


@hookimpl
def erp_demo_data(session: Session, settings: Settings) -> None:
    from erp_production.demo import load_demo_data

    load_demo_data(session)


@hookimpl
def erp_approval_policies() -> Sequence[Any]:
    from erp_production.approvals import POLICIES

    return POLICIES


@hookimpl
def on_approval_decided(session: Session, request: Any, decision: Any) -> None:
    from erp_production.approvals import apply_decision

    apply_decision(session, request=request, decision=decision)


@hookimpl
def on_stock_negative(session: Session, shortfall: Any) -> bool | None:
    from erp_production.debt import record_debt

    return record_debt(session, shortfall=shortfall)


@hookimpl
def on_goods_received(session: Session, receipt: Any) -> None:
    from erp_production.debt import settle_debts

    settle_debts(session, receipt=receipt)


@hookimpl
def erp_metrics() -> Sequence[Any]:
    from erp_production.metrics import open_material_debt, output_today

    return [output_today, open_material_debt]
