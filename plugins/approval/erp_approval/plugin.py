"""Hook implementations of the `approval` plugin (thin: the logic lives in its service modules)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kernel import KERNEL_API_VERSION
from kernel.plugins import PluginManifest, hookimpl

manifest = PluginManifest(
    name="approval",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=(),
    api_prefix="approvals",
    hookspecs="erp_approval.hookspecs",
    description="Generic multi-level approval engine with signed decisions.",
)


@hookimpl
def erp_models() -> Sequence[type[Any]]:
    from erp_approval.models import (
        ApprovalDecision,
        ApprovalPolicy,
        ApprovalPolicyVersion,
        ApprovalRequest,
        ApprovalRequestStep,
    )

    return [ApprovalPolicy, ApprovalPolicyVersion, ApprovalRequest, ApprovalRequestStep, ApprovalDecision]


@hookimpl
def erp_migrations() -> Path:
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def erp_permissions() -> Sequence[Any]:
    from erp_approval.permissions import PERMISSIONS

    return PERMISSIONS


@hookimpl
def erp_routers() -> Sequence[Any]:
    from erp_approval.routes import router

    return [router]


@hookimpl
def erp_checks() -> Sequence[Any]:
    from erp_approval.checks import decision_signatures_verify, request_states_match_decisions

    return [decision_signatures_verify, request_states_match_decisions]


@hookimpl
def erp_events() -> Sequence[Any]:
    from erp_approval.events import APPROVAL_RESOLVED, APPROVAL_STEP_READY

    return [APPROVAL_STEP_READY, APPROVAL_RESOLVED]
