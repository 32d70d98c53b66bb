"""The kernel's own permissions (meta, users, roles, audit), declared like any plugin's."""

from __future__ import annotations

from kernel.rbac.permissions import Permission
from kernel.rbac.roles import ROLES

KERNEL_PERMISSIONS: list[Permission] = [
    Permission(
        "kernel.meta.view",
        "See which plugins this site runs (clients build their menus from it).",
        default_roles=ROLES,
    ),
    Permission("kernel.users.view", "List and read user accounts.", default_roles=("Admin",)),
    Permission("kernel.users.create", "Create user accounts with roles and a department.", default_roles=()),
    Permission("kernel.users.update", "Change a user's name, email, department and roles.", default_roles=()),
    Permission("kernel.users.deactivate", "Deactivate and reactivate user accounts.", default_roles=()),
    Permission("kernel.users.reset_password", "Set a new password for another user.", default_roles=()),
    Permission("kernel.roles.view", "List roles and the permissions they hold.", default_roles=("Admin",)),
    Permission("kernel.roles.update", "Change which permissions a role holds.", default_roles=()),
    Permission("kernel.audit.view", "Read and export the audit trail.", default_roles=("Manager",)),
    Permission("kernel.events.view", "List events, their deliveries and failures.", default_roles=("Admin",)),
    Permission(
        "kernel.events.redeliver", "Redeliver dead or failed events after a fix.", default_roles=("Admin",)
    ),
    Permission(
        "kernel.metrics.view",
        "Read /metrics with a user token from outside the scrape addresses.",
        default_roles=("Admin",),
    ),
]
"""Superadmin (and Developer off production) hold all of these; the defaults add the roles listed."""
