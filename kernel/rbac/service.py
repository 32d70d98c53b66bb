"""Role administration: list roles with their grants, change a role's grants."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kernel.audit.recording import record_change
from kernel.auth.invalidation import principals_changed
from kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kernel.rbac.models import Grant, PermissionRecord, Role
from kernel.rbac.principal import Principal
from kernel.rbac.roles import ROLES, SUPERADMIN
from kernel.rbac.sync import grants_of, insert_ignoring_duplicates


def list_roles(session: Session) -> list[tuple[Role, list[str]]]:
    """Every role (in DOMAIN.md order) with its granted permissions, sorted."""
    roles = {r.name: r for r in session.scalars(select(Role))}
    grants = grants_of(session, roles)
    order = {name: i for i, name in enumerate(ROLES)}
    return [(roles[n], sorted(grants[n])) for n in sorted(roles, key=lambda n: order.get(n, len(order)))]


def list_permissions(session: Session) -> list[PermissionRecord]:
    """Every permission ever declared at this site, by name."""
    return list(session.scalars(select(PermissionRecord).order_by(PermissionRecord.name)))


def set_role_grants(
    session: Session, *, actor: Principal, role: str, permissions: Iterable[str], declared: set[str]
) -> list[str]:
    """Replace a role's grants. Kept across restarts and plugin upgrades (sync never resets them).

    Unknown permission names are refused; an administrator cannot grant what they do not hold, and
    Superadmin keeps every permission.
    """
    if session.get(Role, role) is None:
        raise NotFound(f"role {role!r} does not exist")
    wanted = set(permissions)
    unknown = sorted(wanted - declared)
    if unknown:
        raise ValidationFailed(
            f"unknown permission(s): {', '.join(unknown)}",
            errors=[
                {"field": "permissions", "message": f"unknown permission {p!r}", "type": "unknown_permission"}
                for p in unknown
            ],
        )
    current = grants_of(session, [role])[role]
    if role == SUPERADMIN and not declared <= wanted:
        raise Conflict("Superadmin holds every permission; its grants cannot be reduced")
    beyond = sorted((wanted - current) - actor.permissions)
    if beyond:
        raise PermissionDenied(f"cannot grant permissions you do not hold: {', '.join(beyond[:5])}")
    # Grants of permissions no enabled plugin declares (a disabled plugin's) are left as they are.
    removed, added = (current & declared) - wanted, wanted - current
    if removed:
        session.execute(delete(Grant).where(Grant.role_name == role, Grant.permission_name.in_(removed)))
    insert_ignoring_duplicates(
        session,
        Grant.__table__,  # type: ignore[arg-type]
        [{"role_name": role, "permission_name": p} for p in sorted(added)],
    )
    if added or removed:
        principals_changed(session)
        record_change(
            session,
            entity_type="role",
            entity_id=role,
            action="grants_changed",
            old=sorted(current),
            new=sorted(wanted),
        )
    return sorted((current - removed) | added)
