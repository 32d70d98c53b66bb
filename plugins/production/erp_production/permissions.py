"""The permissions the production plugin declares, with their default role grants."""

from __future__ import annotations

from kernel.rbac import Permission

_DEPT = ("SPV Cutting", "SPV Sewing", "SPV Finishing")
_ADMINS = ("Admin Cutting", "Admin Embroidery", "Admin Sewing", "Admin Finishing", "Admin Packing")
_VIEW = (
    "Manager",
    "PPIC Manager",
    "PPIC Admin",
    "Admin",
    *_DEPT,
    *_ADMINS,
    "QC Inspector",
    "QC Lab",
    "Warehouse Admin",
    "Finance Manager",
)

PERMISSIONS = [
    Permission("production.bom.view", "See BOMs and explosions.", default_roles=_VIEW),
    Permission(
        "production.bom.manage",
        "Create, change and (de)activate BOMs.",
        default_roles=("PPIC Manager", "PPIC Admin"),
    ),
    Permission("production.mo.view", "See manufacturing orders.", default_roles=_VIEW),
    Permission(
        "production.mo.create",
        "Create and cancel manufacturing orders.",
        default_roles=("PPIC Manager", "PPIC Admin"),
    ),
    Permission(
        "production.mo.release",
        "Release manufacturing orders (creates SPKs).",
        default_roles=("PPIC Manager",),
    ),
    Permission("production.spk.view", "See SPKs and their progress.", default_roles=_VIEW),
    Permission(
        "production.spk.create",
        "Create an SPK of a released MO.",
        default_roles=("PPIC Manager", "PPIC Admin"),
    ),
    Permission(
        "production.spk.edit",
        "Request an SPK edit (applied after approval).",
        default_roles=("PPIC Manager", "PPIC Admin", *_DEPT),
    ),
    Permission(
        "production.spk.execute",
        "Start, complete and deliver WIP of SPKs.",
        default_roles=("PPIC Manager", *_DEPT, *_ADMINS),
    ),
    Permission(
        "production.allocation.view",
        "Preview material allocation of SPKs.",
        default_roles=("PPIC Manager", "PPIC Admin", "Warehouse Admin", *_DEPT, *_ADMINS),
    ),
    Permission(
        "production.allocation.create",
        "Reserve materials for SPKs.",
        default_roles=("PPIC Manager", "PPIC Admin", "Warehouse Admin", *_DEPT),
    ),
    Permission("production.input.create", "Enter daily production input.", default_roles=(*_DEPT, *_ADMINS)),
    Permission(
        "production.debt.view",
        "See material debts.",
        default_roles=("Manager", "Finance Manager", "PPIC Manager", "Warehouse Admin", *_DEPT, *_ADMINS),
    ),
    Permission(
        "production.report.view",
        "See production reports.",
        default_roles=("Manager", "PPIC Manager", "PPIC Admin", "Finance Manager", "Admin", *_DEPT, *_ADMINS),
    ),
]
