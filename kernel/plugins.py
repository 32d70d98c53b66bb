"""Plugin discovery, validation and ordering.

A plugin is a distribution advertising ``[project.entry-points."erp.plugins"] <name> =
"erp_<name>.plugin"``; the module holds a ``manifest`` and its hook implementations. The site config
names the enabled plugins. Everything that could go wrong is checked here, at start-up, and reported as
one PluginError naming the plugin.
"""

from __future__ import annotations

import heapq
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

import kernel
from kernel import hookspecs
from kernel.config import Settings

ENTRY_POINT_GROUP = "erp.plugins"
hookimpl = pluggy.HookimplMarker("erp")
RESERVED_API_PREFIXES = frozenset({"auth", "users", "roles", "audit", "meta", "system"})


class PluginError(Exception):
    """A plugin cannot be loaded; the message is one line naming the plugin and what to do."""


@dataclass(frozen=True)
class PluginManifest:
    """What a plugin declares about itself (the ``manifest`` attribute of its plugin module)."""

    name: str
    version: str
    kernel_api: tuple[int, ...]
    requires: tuple[str, ...] = ()
    api_prefix: str | None = None
    hookspecs: str | None = None
    description: str = ""

    @property
    def prefix(self) -> str:
        """The URL segment under ``/api/v1`` where the plugin's routers are mounted."""
        return self.api_prefix if self.api_prefix is not None else self.name


@dataclass
class LoadedPlugin:
    """An enabled plugin: its manifest, module and the distribution that installed it."""

    manifest: PluginManifest
    module: ModuleType
    distribution: str | None = None

    @property
    def name(self) -> str:
        """The plugin's name."""
        return self.manifest.name


@dataclass
class InstalledPlugin:
    """An installed plugin as ``erp plugins`` reports it; ``error`` says why it would fail to load."""

    name: str
    distribution: str | None
    version: str | None
    requires: tuple[str, ...] = ()
    enabled: bool = False
    error: str | None = None


@dataclass
class PluginRegistry:
    """The plugin manager of a site with its enabled plugins in load order."""

    settings: Settings
    pm: pluggy.PluginManager
    plugins: list[LoadedPlugin]
    kernel_plugin: LoadedPlugin
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Enabled plugin names, in load order (the kernel excluded)."""
        return [p.name for p in self.plugins]

    def all(self) -> list[LoadedPlugin]:
        """The kernel followed by the enabled plugins, in load order."""
        return [self.kernel_plugin, *self.plugins]

    def collect(self, hook_name: str, **kwargs: Any) -> list[tuple[LoadedPlugin, Any]]:
        """Call one hook on each plugin implementing it, in load order, returning (plugin, result).

        pluggy calls implementations last-registered-first; contributions must follow our order and
        stay attributable to their plugin, so we walk the implementations ourselves.
        """
        caller = getattr(self.pm.hook, hook_name)
        by_plugin = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
        out: list[tuple[LoadedPlugin, Any]] = []
        for plugin in self.all():
            impl = by_plugin.get(plugin.name)
            if impl is None:
                continue
            args = {name: kwargs[name] for name in impl.argnames}
            out.append((plugin, impl.function(**args)))
        return out


def _entry_points() -> dict[str, list[metadata.EntryPoint]]:
    found: dict[str, list[metadata.EntryPoint]] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, []).append(ep)
    return found


def _distribution_of(ep: metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else None


def _load_module(name: str, eps: list[metadata.EntryPoint]) -> tuple[ModuleType, str | None]:
    if len(eps) > 1:
        dists = ", ".join(sorted(str(_distribution_of(ep)) for ep in eps))
        raise PluginError(f"plugin {name!r}: installed twice (by {dists}); uninstall one")
    ep = eps[0]
    try:
        module = ep.load()
    except Exception as exc:
        raise PluginError(f"plugin {name!r}: cannot import {ep.value}: {type(exc).__name__}: {exc}") from None
    if not isinstance(module, ModuleType):
        raise PluginError(f"plugin {name!r}: entry point {ep.value} must name a module")
    return module, _distribution_of(ep)


def _manifest_of(name: str, module: ModuleType) -> PluginManifest:
    manifest = getattr(module, "manifest", None)
    if not isinstance(manifest, PluginManifest):
        raise PluginError(f"plugin {name!r}: {module.__name__} has no `manifest = PluginManifest(...)`")
    if manifest.name != name:
        raise PluginError(
            f"plugin {name!r}: its manifest calls it {manifest.name!r}; the entry point name must match"
        )
    if kernel.KERNEL_API_VERSION not in manifest.kernel_api:
        supported = ", ".join(map(str, manifest.kernel_api)) or "none"
        raise PluginError(
            f"plugin {name!r} {manifest.version} supports kernel API {supported}, "
            f"but this kernel is API {kernel.KERNEL_API_VERSION}; install a compatible version"
        )
    return manifest


def order_plugins(manifests: Mapping[str, PluginManifest]) -> list[str]:
    """Topological order: dependencies first, ties broken by name. Raises PluginError on a cycle."""
    for name, manifest in sorted(manifests.items()):
        for req in manifest.requires:
            if req not in manifests:
                raise PluginError(
                    f"plugin {name!r} requires {req!r}, which is not enabled; add {req!r} to plugins in "
                    f"erp.toml or disable {name!r}"
                )
    pending = {name: set(m.requires) for name, m in manifests.items()}
    ready = [name for name, reqs in pending.items() if not reqs]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for other, reqs in pending.items():
            if name in reqs:
                reqs.discard(name)
                if not reqs and other not in order and other not in ready:
                    heapq.heappush(ready, other)
    if len(order) != len(manifests):
        stuck = sorted(set(manifests) - set(order))
        raise PluginError(f"plugins {', '.join(map(repr, stuck))} form a dependency cycle through 'requires'")
    return order


def installed_plugins(enabled: Iterable[str] = ()) -> list[InstalledPlugin]:
    """Every installed plugin with its version and, where it cannot load, the reason."""
    enabled_set = set(enabled)
    result = []
    for name, eps in sorted(_entry_points().items()):
        info = InstalledPlugin(name=name, distribution=None, version=None, enabled=name in enabled_set)
        try:
            module, info.distribution = _load_module(name, eps)
            manifest = _manifest_of(name, module)
            info.version, info.requires = manifest.version, manifest.requires
        except PluginError as exc:
            info.error = str(exc)
        result.append(info)
    return result


def load_disabled_module(name: str) -> ModuleType | None:
    """Import an installed but disabled plugin's module (for its migration directory), or None."""
    eps = _entry_points().get(name)
    if not eps:
        return None
    try:
        return _load_module(name, eps)[0]
    except PluginError:
        return None


def build_plugin_manager(settings: Settings) -> PluginRegistry:
    """Discover, validate, order and register the enabled plugins of ``settings``.

    Raises PluginError (one line, naming the plugin) for: enabled but not installed, missing
    requirement, cycle, duplicate name, incompatible kernel API, hookimpl without a spec.
    """
    from kernel import core_plugin

    available = _entry_points()
    modules: dict[str, tuple[ModuleType, str | None]] = {}
    manifests: dict[str, PluginManifest] = {}
    for name in settings.plugins:
        if name == core_plugin.manifest.name:
            raise PluginError("plugin 'kernel': the kernel is always loaded; remove it from plugins")
        if name not in available:
            hint = ", ".join(sorted(available)) or "none"
            raise PluginError(
                f"plugin {name!r} is enabled in the site config but not installed (installed: {hint})"
            )
        modules[name] = _load_module(name, available[name])
        manifests[name] = _manifest_of(name, modules[name][0])

    order = order_plugins(manifests)
    pm = pluggy.PluginManager("erp")
    pm.add_hookspecs(hookspecs)
    for extra_specs in core_plugin.HOOKSPEC_MODULES:
        pm.add_hookspecs(importlib.import_module(extra_specs))
    for name in order:
        spec_module = manifests[name].hookspecs
        if spec_module:
            try:
                pm.add_hookspecs(importlib.import_module(spec_module))
            except ImportError as exc:
                raise PluginError(f"plugin {name!r}: cannot import hookspecs {spec_module}: {exc}") from None

    kernel_loaded = LoadedPlugin(core_plugin.manifest, core_plugin, "erp-kernel")
    loaded = [LoadedPlugin(manifests[n], modules[n][0], modules[n][1]) for n in order]
    for plugin in [kernel_loaded, *loaded]:
        try:
            pm.register(plugin.module, name=plugin.name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {plugin.name!r}: {exc}") from None
    _check_unknown_hooks(pm)
    _check_prefixes(loaded)
    return PluginRegistry(settings=settings, pm=pm, plugins=loaded, kernel_plugin=kernel_loaded)


def _check_unknown_hooks(pm: pluggy.PluginManager) -> None:
    # pm.check_pending() raises for the first one; we want the plugin and hook names in our words.
    for name in pm.hook.__dict__:
        if name.startswith("_"):
            continue
        caller = getattr(pm.hook, name)
        if caller.spec is None:
            for impl in caller.get_hookimpls():
                if not impl.optionalhook:
                    raise PluginError(
                        f"plugin {impl.plugin_name!r}: hook implementation {name!r} matches no hookspec "
                        "(misspelt, or the plugin declaring it is not enabled?)"
                    )
    pm.check_pending()


def _check_prefixes(plugins: list[LoadedPlugin]) -> None:
    owners: dict[str, str] = {}
    for plugin in plugins:
        prefix = plugin.manifest.prefix
        if prefix in RESERVED_API_PREFIXES:
            raise PluginError(f"plugin {plugin.name!r}: route prefix {prefix!r} is reserved by the kernel")
        if prefix in owners:
            raise PluginError(
                f"plugin {plugin.name!r}: route prefix /api/v1/{prefix} is already used by plugin "
                f"{owners[prefix]!r}"
            )
        owners[prefix] = plugin.name
