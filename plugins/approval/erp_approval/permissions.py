"""The permissions of the approval plugin and their default grants.

These gate the endpoints coarsely; who may decide a given step is decided by the request's chain
(role and department), never by a permission alone. Superadmin gets every permission from the kernel,
yet still cannot decide a step whose role it does not hold.
"""

from __future__ import annotations

from kernel.rbac import ROLES, Permission

APPROVERS = (
    "Manager",
    "Finance Manager",
    "PPIC Manager",
    "SPV Cutting",
    "SPV Sewing",
    "SPV Finishing",
    "Purchasing Head",
    "QC Lab",
    "Warehouse Admin",
)
"""Roles that approve something in the factory's processes (DOMAIN.md)."""

EVERYONE = tuple(r for r in ROLES if r not in ("Superadmin", "Developer"))

VIEW = "approval.request.view"
VIEW_ALL = "approval.request.view_all"
DECIDE = "approval.request.decide"
CANCEL = "approval.request.cancel"
POLICY_VIEW = "approval.policy.view"
POLICY_MANAGE = "approval.policy.manage"

PERMISSIONS = [
    Permission(
        VIEW,
        "See the approval requests one submitted, decided or may decide, and one's pending list.",
        default_roles=EVERYONE,
    ),
    Permission(
        VIEW_ALL,
        "See every approval request of the site and its signed history (oversight).",
        default_roles=("Manager", "Finance Manager"),
    ),
    Permission(
        DECIDE,
        "Approve or reject the current step of a request whose step role one holds.",
        default_roles=APPROVERS,
    ),
    Permission(CANCEL, "Withdraw one's own pending approval request.", default_roles=EVERYONE),
    Permission(
        POLICY_VIEW,
        "See the approval chain of every request type.",
        default_roles=("Manager", "Finance Manager", "PPIC Manager", "Admin"),
    ),
    Permission(POLICY_MANAGE, "Change the approval chain of a request type.", default_roles=("Admin",)),
]
