"""Hook implementations of the `kanban` plugin (thin: the logic lives in its service modules)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kernel import KERNEL_API_VERSION
from kernel.config import Settings
from kernel.plugins import PluginManifest, hookimpl

manifest = PluginManifest(
    name="kanban",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=("production", "warehouse"),
    hookspecs="erp_kanban.hookspecs",
    description="Pull-based replenishment boards tied to stock and production.",
)


@hookimpl
def erp_models() -> Sequence[type[Any]]:
    from erp_kanban.models import MODELS

    return MODELS


@hookimpl
def erp_migrations() -> Path:
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def erp_permissions() -> Sequence[Any]:
    from erp_kanban.permissions import PERMISSIONS

    return PERMISSIONS


@hookimpl
def erp_routers() -> Sequence[Any]:
    from erp_kanban.routes import ROUTERS

    return ROUTERS


@hookimpl
def erp_websockets() -> Sequence[Any]:
    from erp_kanban.routes.live import ws_router

    return [ws_router]


@hookimpl
def erp_events() -> Sequence[Any]:
    from erp_kanban.events import EVENTS

    return EVENTS


@hookimpl
def erp_checks() -> Sequence[Any]:
    from erp_kanban.checks import CHECKS

    return CHECKS


@hookimpl
def erp_demo_data(session: Session, settings: Settings) -> None:
    from erp_kanban.demo import load_demo_data

    load_demo_data(session)


@hookimpl
def on_stock_moved(session: Session, event: Any) -> None:
    from erp_kanban.reorder import raise_reorder_cards

    raise_reorder_cards(session, payload=event.payload)


@hookimpl
def on_mo_released(session: Session, event: Any) -> None:
    from erp_kanban.spk_cards import sync_spk_cards

    sync_spk_cards(session, spk_ids=list(event.payload.spk_ids))


@hookimpl
def on_spk_started(session: Session, event: Any) -> None:
    from erp_kanban.spk_cards import sync_spk_cards

    sync_spk_cards(session, spk_ids=[event.payload.spk_id])


@hookimpl
def on_spk_completed(session: Session, event: Any) -> None:
    from erp_kanban.spk_cards import sync_spk_cards

    sync_spk_cards(session, spk_ids=[event.payload.spk_id])
