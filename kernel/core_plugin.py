"""The kernel's own contributions, registered like any plugin under the name ``kernel``.

Its tables are prefixed ``kernel_`` and its routers are mounted directly under ``/api/v1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter

import kernel
from kernel.plugins import PluginManifest, hookimpl

manifest = PluginManifest(
    name="kernel",
    version=kernel.__version__,
    kernel_api=(kernel.KERNEL_API_VERSION,),
    api_prefix="",
    description="The kernel: meta, health and the contracts plugins build on.",
)

HOOKSPEC_MODULES: list[str] = ["kernel.events.hookspecs"]
"""Further kernel hookspec modules (added as kernel capabilities grow)."""

MIGRATIONS_DIR = Path(__file__).parent / "migrations" / "versions"


@hookimpl
def erp_models() -> Sequence[type[Any]]:
    from kernel import models

    return models.MODELS


@hookimpl
def erp_migrations() -> Path:
    return MIGRATIONS_DIR


@hookimpl
def erp_routers() -> Sequence[APIRouter]:
    from kernel.api import meta
    from kernel.audit.routes import router as audit_router
    from kernel.auth.routes import auth_router, roles_router, users_router
    from kernel.events.routes import router as events_router

    return [meta.router, auth_router, users_router, roles_router, audit_router, events_router]


@hookimpl
def erp_permissions() -> Sequence[Any]:
    from kernel.rbac.kernel_permissions import KERNEL_PERMISSIONS

    return KERNEL_PERMISSIONS


@hookimpl
def erp_periodic_jobs() -> Sequence[Any]:
    from kernel.events.retention import RETENTION_JOB

    return [RETENTION_JOB]
