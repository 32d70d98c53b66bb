"""The kernel's own tables (all prefixed ``kernel_``)."""

from __future__ import annotations

from typing import Any

from kernel.idempotency import IdempotencyRecord
from kernel.scheduler import JobRun

MODELS: list[type[Any]] = [IdempotencyRecord, JobRun]
"""Every kernel model class; contributed through the kernel's ``erp_models`` hook."""
