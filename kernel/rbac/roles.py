"""The factory's 22 roles and its departments, as DOMAIN.md names them.

Roles are rows created by migration (``kernel_0002``); this module is the one list the code checks
against. Department-scoped roles act only on their own department's records.
"""

from __future__ import annotations

ROLES: tuple[str, ...] = (
    "Developer",
    "Superadmin",
    "Manager",
    "Finance Manager",
    "Admin",
    "PPIC Manager",
    "PPIC Admin",
    "SPV Cutting",
    "SPV Sewing",
    "SPV Finishing",
    "Warehouse Admin",
    "QC Lab",
    "Purchasing Head",
    "Purchasing",
    "Admin Cutting",
    "Admin Embroidery",
    "Admin Sewing",
    "Admin Finishing",
    "Admin Packing",
    "QC Inspector",
    "Warehouse Operator",
    "Security",
)
"""The 22 roles, exactly as the factory names them."""

PRODUCTION_DEPARTMENTS: tuple[str, ...] = (
    "Cutting",
    "Embroidery",
    "Subcon",
    "Sewing",
    "Finishing",
    "Packing",
)
"""Production departments in flow order (DOMAIN.md, "Departments and routing")."""

DEPARTMENTS: tuple[str, ...] = (
    *PRODUCTION_DEPARTMENTS,
    # The finished-goods warehouse ends the flow; the others are where the remaining roles sit, so a
    # user's department can always be named (reports group people by it).
    "Warehouse",
    "PPIC",
    "Purchasing",
    "Quality",
    "Finance",
    "Security",
    "Management",
)
"""Every department a user may belong to."""

DEPARTMENT_ROLES: dict[str, str] = {
    "SPV Cutting": "Cutting",
    "SPV Sewing": "Sewing",
    "SPV Finishing": "Finishing",
    "Admin Cutting": "Cutting",
    "Admin Embroidery": "Embroidery",
    "Admin Sewing": "Sewing",
    "Admin Finishing": "Finishing",
    "Admin Packing": "Packing",
}
"""Department-scoped roles and the one department each acts on."""

SUPERADMIN = "Superadmin"
DEVELOPER = "Developer"
