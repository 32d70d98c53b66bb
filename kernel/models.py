"""The kernel's own tables (all prefixed ``kernel_``)."""

from __future__ import annotations

from typing import Any

from kernel.audit.models import AuditChainTip, AuditLog
from kernel.auth.models import User, UserRole
from kernel.idempotency import IdempotencyRecord
from kernel.rbac.models import Grant, PermissionRecord, Role
from kernel.scheduler import JobRun

MODELS: list[type[Any]] = [
    Role,
    PermissionRecord,
    Grant,
    User,
    UserRole,
    AuditLog,
    AuditChainTip,
    IdempotencyRecord,
    JobRun,
]
"""Every kernel model class; contributed through the kernel's ``erp_models`` hook."""
