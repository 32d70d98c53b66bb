"""User administration: list, create, update, deactivate, reactivate, reset password.

There is no self-registration anywhere: every account is created here by an administrator (or by
``erp users create`` for the first one). Nobody can hand out a role holding permissions they lack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.audit.recording import record_change
from kernel.auth.models import User, UserRole
from kernel.auth.passwords import hash_password
from kernel.auth.runtime import AuthRuntime
from kernel.auth.schemas import USERNAME
from kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kernel.rbac.principal import Principal
from kernel.rbac.roles import DEPARTMENT_ROLES, DEPARTMENTS, ROLES
from kernel.rbac.sync import grants_of


@dataclass(frozen=True)
class UserFilter:
    """Filters of the user list."""

    role: str | None = None
    department: str | None = None
    active: bool | None = None


def snapshot(user: User) -> dict[str, Any]:
    """The audited view of a user (never the password hash)."""
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "department": user.department,
        "roles": user.roles,
        "is_active": user.is_active,
    }


def list_users(session: Session, *, filters: UserFilter, limit: int, offset: int) -> tuple[list[User], int]:
    """A page of users matching ``filters`` (by username) and the total count."""
    stmt = select(User)
    if filters.role is not None:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role_name == filters.role)))
    if filters.department is not None:
        stmt = stmt.where(User.department == filters.department)
    if filters.active is not None:
        stmt = stmt.where(User.is_active.is_(filters.active))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    users = list(session.scalars(stmt.order_by(User.username).limit(limit).offset(offset)))
    return users, total


def get_user(session: Session, *, user_id: int) -> User:
    """The user, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def check_roles(roles: list[str], department: str | None) -> str | None:
    """Validate roles against the department; returns the department to store.

    Department-scoped roles fix the department (SPV Sewing works in Sewing): one given alongside must
    agree, and scoped roles of two departments cannot be combined.
    """
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValidationFailed(
            f"unknown role(s): {', '.join(unknown)}",
            errors=[
                {"field": "roles", "message": f"unknown role {r!r}", "type": "unknown_role"} for r in unknown
            ],
        )
    if not roles:
        raise ValidationFailed(
            "a user needs at least one role", errors=[{"field": "roles", "message": "empty", "type": "empty"}]
        )
    if department is not None and department not in DEPARTMENTS:
        raise ValidationFailed(
            f"unknown department {department!r}",
            errors=[
                {
                    "field": "department",
                    "message": f"one of {', '.join(DEPARTMENTS)}",
                    "type": "unknown_department",
                }
            ],
        )
    scoped = {DEPARTMENT_ROLES[r] for r in roles if r in DEPARTMENT_ROLES}
    if len(scoped) > 1:
        raise ValidationFailed(
            "department roles of different departments cannot be combined",
            errors=[{"field": "roles", "message": "departments differ", "type": "conflict"}],
        )
    if scoped:
        (scope,) = scoped
        if department is not None and department != scope:
            raise ValidationFailed(
                f"a {scope} role needs department {scope}, not {department}",
                errors=[{"field": "department", "message": f"must be {scope}", "type": "mismatch"}],
            )
        return scope
    return department


def check_no_escalation(session: Session, actor: Principal | None, roles: list[str]) -> None:
    """Refuse to assign a role holding permissions the acting administrator does not hold."""
    if actor is None:  # the operator at the server's console (erp users create)
        return
    for role, permissions in grants_of(session, roles).items():
        missing = permissions - actor.permissions
        if missing:
            raise PermissionDenied(
                f"cannot assign role {role!r}: it holds permissions you do not have "
                f"({', '.join(sorted(missing)[:3])}...)"
            )


def create_user(
    session: Session,
    runtime: AuthRuntime,
    *,
    actor: Principal | None,
    username: str,
    full_name: str,
    email: str | None,
    department: str | None,
    roles: list[str],
    password: str,
) -> User:
    """Create an account; usernames are unique regardless of case."""
    name = username.strip().lower()
    if not re.fullmatch(USERNAME, name):
        raise ValidationFailed(
            "username must be 3-64 letters, digits, dots, dashes or underscores",
            errors=[{"field": "username", "message": "invalid", "type": "pattern"}],
        )
    department = check_roles(roles, department)
    check_no_escalation(session, actor, roles)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"username {name!r} is taken")
    user = User(
        username=name,
        full_name=full_name.strip(),
        email=email,
        department=department,
        password_hash=hash_password(runtime.hasher, password),
        role_links=[UserRole(role_name=r) for r in sorted(set(roles))],
    )
    session.add(user)
    session.flush()
    record_change(session, entity_type="user", entity_id=user.id, action="create", new=snapshot(user))
    return user


def update_user(
    session: Session, runtime: AuthRuntime, *, actor: Principal, user_id: int, changes: dict[str, Any]
) -> User:
    """Change name, email, department and/or roles; role changes end the user's sessions."""
    user = get_user(session, user_id=user_id)
    old = snapshot(user)
    roles = changes.get("roles", user.roles)
    department = check_roles(roles, changes.get("department", user.department))
    if "roles" in changes:
        check_no_escalation(session, actor, [r for r in roles if r not in user.roles])
        user.role_links = [UserRole(role_name=r) for r in sorted(set(roles))]
    if "full_name" in changes:
        user.full_name = changes["full_name"].strip()
    if "email" in changes:
        user.email = changes["email"]
    user.department = department
    session.flush()
    new = snapshot(user)
    if new != old:
        record_change(session, entity_type="user", entity_id=user.id, action="update", old=old, new=new)
    return user


def set_active(
    session: Session, runtime: AuthRuntime, *, actor: Principal, user_id: int, active: bool
) -> User:
    """Deactivate (ending every session at once) or reactivate an account."""
    user = get_user(session, user_id=user_id)
    if not active and user.id == actor.user_id:
        raise Conflict("you cannot deactivate your own account")
    if user.is_active != active:
        user.is_active = active
        record_change(
            session,
            entity_type="user",
            entity_id=user.id,
            action="reactivate" if active else "deactivate",
            old={"is_active": not active},
            new={"is_active": active},
        )
    if not active:
        runtime.sessions.revoke_user(user.id)
    return user


def reset_password(session: Session, runtime: AuthRuntime, *, user_id: int, password: str) -> User:
    """Set a new password chosen by an administrator; the user's sessions end."""
    user = get_user(session, user_id=user_id)
    user.password_hash = hash_password(runtime.hasher, password)
    runtime.sessions.revoke_user(user.id)
    record_change(session, entity_type="user", entity_id=user.id, action="password_reset")
    return user
