"""The kernel's own tables (all prefixed ``kernel_``)."""

from __future__ import annotations

from typing import Any

# --- auth, rbac and audit (issue 3) ---
from kernel.audit.models import AuditChainTip, AuditLog
from kernel.auth.models import User, UserRole
from kernel.rbac.models import Grant, PermissionRecord, Role

MODELS: list[type[Any]] = [
    Role, PermissionRecord, Grant, User, UserRole,
    AuditLog, AuditChainTip,
]
"""Every kernel model class; contributed through the kernel's ``erp_models`` hook."""
