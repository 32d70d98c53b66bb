"""Start-up sync of declared permissions into the database.

New permissions arrive with their default grants (and Superadmin's); permissions already known keep
whatever grants an administrator gave them, so a restart or a plugin upgrade never undoes a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from kernel.db import conflict_insert
from kernel.rbac.models import Grant, PermissionRecord
from kernel.rbac.permissions import Permission
from kernel.rbac.roles import DEVELOPER, SUPERADMIN


def insert_ignoring_duplicates(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose key exists (several workers may sync at the same moment)."""
    if not rows:
        return
    session.execute(conflict_insert(session, table).values(rows).on_conflict_do_nothing())


def default_grants(permission: Permission, *, production: bool) -> set[str]:
    """Roles a newly declared permission is granted: its defaults, Superadmin, Developer off production."""
    roles = set(permission.default_roles) | {SUPERADMIN}
    if not production:
        roles.add(DEVELOPER)
    return roles


def sync_permissions(
    session: Session, permissions: Mapping[str, Permission], *, production: bool
) -> list[str]:
    """Record declared permissions; grant defaults only to those never seen before. Returns the new names."""
    known = dict(session.execute(select(PermissionRecord.name, PermissionRecord.description)).tuples().all())
    new = [p for name, p in permissions.items() if name not in known]
    records = [{"name": p.name, "plugin": p.plugin, "description": p.description} for p in new]
    insert_ignoring_duplicates(session, PermissionRecord.__table__, records)  # type: ignore[arg-type]
    for name, p in permissions.items():
        if name in known and known[name] != p.description:
            session.execute(
                update(PermissionRecord)
                .where(PermissionRecord.name == name)
                .values(description=p.description)
            )
    grants = [
        {"role_name": role, "permission_name": p.name}
        for p in new
        for role in sorted(default_grants(p, production=production))
    ]
    # Superadmin holds every permission explicitly, also ones an older kernel declared before it existed.
    grants += [{"role_name": SUPERADMIN, "permission_name": name} for name in permissions]
    insert_ignoring_duplicates(session, Grant.__table__, grants)  # type: ignore[arg-type]
    if new:
        from kernel.auth.invalidation import principals_changed

        principals_changed(session)
    return [p.name for p in new]


def grants_of(session: Session, roles: Iterable[str]) -> dict[str, set[str]]:
    """The permissions held by each of ``roles``."""
    result: dict[str, set[str]] = {r: set() for r in roles}
    rows = session.execute(
        select(Grant.role_name, Grant.permission_name).where(Grant.role_name.in_(list(result)))
    )
    for role, permission in rows:
        result[role].add(permission)
    return result
