"""Who acts on a quality record, as the services see it (no FastAPI here)."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.rbac import DEPARTMENTS


@dataclass(frozen=True)
class Actor:
    """The signed-in user and the department their permission is limited to (None: every one)."""

    user_id: int | None = None
    username: str | None = None
    scope: str | None = None

    def may_see(self, department: str) -> bool:
        """True when the record of ``department`` is within the actor's scope."""
        return self.scope is None or self.scope == department

    def check_sees(self, department: str, what: str) -> None:
        """Hide records of other departments from a department-scoped reader (404, no leak)."""
        if not self.may_see(department):
            raise NotFound(f"{what} does not exist")

    def check_acts(self, department: str, what: str) -> None:
        """Refuse acting on another department's record (403)."""
        if not self.may_see(department):
            raise PermissionDenied(f"{what} belongs to {department}; you act for {self.scope} only")


SYSTEM = Actor(username="system")
"""The actor of event handlers."""


def check_department(value: str, field: str = "department") -> str:
    """``value`` as one of the site's departments (case-insensitive), or a 422 naming ``field``."""
    for department in DEPARTMENTS:
        if department.lower() == value.strip().lower():
            return department
    raise ValidationFailed(
        f"unknown department {value!r}",
        errors=[{"field": field, "message": f"must be one of {', '.join(DEPARTMENTS)}"}],
    )
