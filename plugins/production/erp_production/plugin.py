"""Hook implementations of the `production` plugin (thin: the logic lives in its service modules)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kernel import KERNEL_API_VERSION
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
