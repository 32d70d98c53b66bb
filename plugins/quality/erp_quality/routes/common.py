"""What the quality routes share: turning the signed-in caller into the services' Actor."""

from __future__ import annotations

from erp_quality.actor import Actor
from kernel.rbac import Principal


def actor_of(principal: Principal, permission: str) -> Actor:
    """The caller, limited to the department their ``permission`` is scoped to (if any)."""
    return Actor(
        user_id=principal.user_id, username=principal.username, scope=principal.department_scope(permission)
    )
