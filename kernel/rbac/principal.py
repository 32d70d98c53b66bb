"""The authenticated caller of a request, as routes and services see it."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel.errors import PermissionDenied
from kernel.rbac.roles import DEPARTMENT_ROLES


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their roles and department, and the permissions those roles grant.

    ``scoped_permissions`` holds the permissions the user has *only* through department-scoped roles
    (SPV Sewing, Admin Cutting...); for those, ``department_scope`` names the department to restrict to.
    """

    user_id: int
    username: str
    full_name: str
    roles: tuple[str, ...]
    department: str | None
    permissions: frozenset[str]
    session_id: str
    scoped_permissions: frozenset[str] = field(default_factory=frozenset)

    def has(self, permission: str) -> bool:
        """True when one of the user's roles is granted ``permission``."""
        return permission in self.permissions

    def department_scope(self, permission: str) -> str | None:
        """The department the caller may act on with ``permission``; None means every department.

        Raises PermissionDenied when the caller lacks the permission altogether, so a plugin can never
        mistake "not allowed" for "allowed everywhere".
        """
        if permission not in self.permissions:
            raise PermissionDenied(f"missing permission {permission}")
        if permission in self.scoped_permissions:
            return self.department
        return None


def is_department_role(role: str) -> bool:
    """True for the roles restricted to one department."""
    return role in DEPARTMENT_ROLES
