"""Permission declarations: what plugins return from ``erp_permissions`` and how they are collected.

A permission is named ``<plugin>.<resource>.<action>`` and must start with its plugin's name; one
defined twice, a malformed name or a default grant to an unknown role stops start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kernel.plugins import PluginError, PluginRegistry
from kernel.rbac.roles import ROLES

if TYPE_CHECKING:
    from kernel.site import Site

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Permission:
    """One permission a plugin declares, with the roles granted it on a fresh site.

    Superadmin is granted every permission whatever ``default_roles`` says (and Developer too, outside
    production); list the factory roles that should have it out of the box.
    """

    name: str
    description: str
    default_roles: tuple[str, ...] = ()

    @property
    def plugin(self) -> str:
        """The plugin the name says owns this permission."""
        return self.name.split(".", 1)[0]


def validate_permission(plugin: str, permission: object) -> Permission:
    """Check one declaration of ``plugin``; raises PluginError naming the plugin when it is wrong."""
    if not isinstance(permission, Permission):
        raise PluginError(
            f"plugin {plugin!r}: erp_permissions must return kernel.rbac.Permission objects, "
            f"got {type(permission).__name__}"
        )
    if not NAME_PATTERN.match(permission.name):
        raise PluginError(
            f"plugin {plugin!r}: permission {permission.name!r} is not named "
            "<plugin>.<resource>.<action> (lower case, digits, underscores)"
        )
    if permission.plugin != plugin:
        raise PluginError(
            f"plugin {plugin!r}: permission {permission.name!r} must start with {plugin + '.'!r}"
        )
    if not permission.description.strip():
        raise PluginError(f"plugin {plugin!r}: permission {permission.name!r} needs a description")
    unknown = [r for r in permission.default_roles if r not in ROLES]
    if unknown:
        raise PluginError(
            f"plugin {plugin!r}: permission {permission.name!r} grants unknown role(s) "
            f"{', '.join(map(repr, unknown))}"
        )
    return permission


def collect_permissions(registry: PluginRegistry) -> dict[str, Permission]:
    """Every permission of the kernel and the enabled plugins, by name, in plugin order."""
    found: dict[str, Permission] = {}
    owners: dict[str, str] = {}
    for plugin, declared in registry.collect("erp_permissions"):
        for item in declared or []:
            permission = validate_permission(plugin.name, item)
            if permission.name in found:
                raise PluginError(
                    f"plugin {plugin.name!r}: permission {permission.name!r} is defined twice "
                    f"(first by plugin {owners[permission.name]!r})"
                )
            found[permission.name] = permission
            owners[permission.name] = plugin.name
    return found


def declared_permissions(site: Site) -> dict[str, Permission]:
    """The permissions of the site's kernel and enabled plugins (collected once, then kept)."""
    found = site.services.get("permissions")
    if found is None:
        found = site.services["permissions"] = collect_permissions(site.registry)
    assert isinstance(found, dict)
    return found
