"""Role-based access control: roles, permission declarations, route guards and department scope.

Plugins declare ``Permission`` objects through the ``erp_permissions`` hook and guard routes with
``require("<plugin>.<resource>.<action>")``; the kernel syncs declarations into the database at
start-up and refuses to build an app with an unguarded route or an unknown permission name.
"""

from kernel.rbac.guards import authenticated, check_routes, public, require, require_ws
from kernel.rbac.permissions import Permission, collect_permissions
from kernel.rbac.principal import Principal
from kernel.rbac.roles import DEPARTMENT_ROLES, DEPARTMENTS, PRODUCTION_DEPARTMENTS, ROLES

__all__ = [
    "DEPARTMENTS",
    "DEPARTMENT_ROLES",
    "PRODUCTION_DEPARTMENTS",
    "ROLES",
    "Permission",
    "Principal",
    "authenticated",
    "check_routes",
    "collect_permissions",
    "public",
    "require",
    "require_ws",
]
