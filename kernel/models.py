"""The kernel's own tables (all prefixed ``kernel_``)."""

from __future__ import annotations

from typing import Any

from kernel.idempotency import IdempotencyRecord

MODELS: list[type[Any]] = [IdempotencyRecord]
"""Every kernel model class; contributed through the kernel's ``erp_models`` hook."""
