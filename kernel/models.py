"""The kernel's own tables (all prefixed ``kernel_``)."""

from __future__ import annotations

from typing import Any

from kernel.events.models import MODELS as EVENT_MODELS

MODELS: list[type[Any]] = [*EVENT_MODELS]
"""Every kernel model class; contributed through the kernel's ``erp_models`` hook."""
