"""Declaring events: ``Event`` (name, version, payload schema) and the site's registry of them.

A plugin returns its ``Event`` declarations from the kernel hook ``erp_events()`` and declares, in its
own hookspecs module (``PluginManifest.hookspecs``), one hookspec ``on_<name>(session, event)`` per
event. Subscribers implement ``on_<name>``. Both halves are checked together at start-up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from kernel.plugins import PluginError, PluginRegistry

P = TypeVar("P", bound=BaseModel)

EVENT_HOOK_ARGS = frozenset({"session", "event"})
"""The arguments an event hookspec may declare: the handler's fresh session and the ``EventEnvelope``."""


class EventError(ValueError):
    """An event cannot be emitted as asked (unknown name, payload not matching its schema): a bug."""


@dataclass(frozen=True)
class Event(Generic[P]):
    """Declaration of an event: its name, the current payload version and its Pydantic schema.

    ``upcast(version, payload) -> payload`` converts a payload stored under an older version to the
    current one; without it, an event stored under another version fails delivery (and is listed).
    """

    name: str
    version: int
    payload: type[P]
    description: str = ""
    upcast: Callable[[int, dict[str, Any]], dict[str, Any]] | None = None

    def validate(self, payload: BaseModel | Mapping[str, Any]) -> P:
        """The payload as this event's schema, or EventError saying what does not match."""
        raw = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else dict(payload)
        try:
            return self.payload.model_validate(raw)
        except ValidationError as exc:
            raise EventError(
                f"event {self.name!r}: payload does not match {self.payload.__name__}: {exc}"
            ) from None

    def load(self, version: int, stored: dict[str, Any]) -> P:
        """Rebuild a stored payload (of ``version``) as the current schema."""
        if version != self.version:
            if self.upcast is None:
                raise EventError(
                    f"event {self.name!r} was stored as version {version} but is declared as version "
                    f"{self.version} without an upcast"
                )
            stored = self.upcast(version, stored)
        return self.payload.model_validate(stored)


@dataclass(frozen=True)
class EventEnvelope(Generic[P]):
    """What an event hook receives as ``event``: the validated payload and where it came from."""

    id: uuid.UUID
    name: str
    version: int
    payload: P
    aggregate: str | None
    emitted_at: datetime
    request_id: str | None
    attempt: int


@dataclass(frozen=True)
class DeclaredEvent:
    """An event declaration with the plugin owning it."""

    event: Event[Any]
    plugin: str

    @property
    def hook_name(self) -> str:
        """Name of the hook that subscribers implement."""
        return f"on_{self.event.name}"


@dataclass
class EventRegistry:
    """Every event the enabled plugins declare, and who subscribes to each."""

    registry: PluginRegistry
    events: dict[str, DeclaredEvent]
    subscribers: dict[str, list[str]]

    def get(self, name: str) -> DeclaredEvent:
        """The declaration of ``name``; EventError when no enabled plugin declares it."""
        try:
            return self.events[name]
        except KeyError:
            raise EventError(f"event {name!r} is not declared by any enabled plugin") from None

    def handler(self, name: str, plugin: str) -> Callable[..., Any] | None:
        """``plugin``'s implementation of ``on_<name>`` (None when it does not subscribe)."""
        caller = getattr(self.registry.pm.hook, f"on_{name}", None)
        impl = next((i for i in caller.get_hookimpls() if i.plugin_name == plugin), None) if caller else None
        if impl is None:
            return None
        function: Callable[..., Any] = impl.function
        argnames = impl.argnames

        def call(**kwargs: Any) -> Any:
            return function(**{a: kwargs[a] for a in argnames})

        return call

    @property
    def subscribing_plugins(self) -> list[str]:
        """Every plugin subscribed to at least one event, in load order."""
        wanted = {p for plugins in self.subscribers.values() for p in plugins}
        return [p.name for p in self.registry.all() if p.name in wanted]


def _spec_owner(registry: PluginRegistry, hook_name: str) -> str | None:
    from kernel import core_plugin

    caller = getattr(registry.pm.hook, hook_name, None)
    if caller is None or caller.spec is None:
        return None
    module = getattr(caller.spec.namespace, "__name__", "")
    if module in core_plugin.HOOKSPEC_MODULES:
        return "kernel"
    for plugin in registry.plugins:
        if plugin.manifest.hookspecs == module:
            return plugin.name
    return module


def build_event_registry(registry: PluginRegistry) -> EventRegistry:
    """Collect ``erp_events()`` from every plugin and check each against its hookspec.

    Raises PluginError for a duplicate event name, an event without its ``on_<name>`` hookspec (or one
    declared by another plugin), or a hookspec taking other arguments than ``session`` and ``event``.
    """
    events: dict[str, DeclaredEvent] = {}
    for plugin, declared in registry.collect("erp_events"):
        for event in declared or []:
            if not isinstance(event, Event):
                raise PluginError(
                    f"plugin {plugin.name!r}: erp_events() must return kernel.events.Event objects"
                )
            if event.name in events:
                raise PluginError(
                    f"plugin {plugin.name!r}: event {event.name!r} is already declared by plugin "
                    f"{events[event.name].plugin!r}"
                )
            item = DeclaredEvent(event=event, plugin=plugin.name)
            owner = _spec_owner(registry, item.hook_name)
            if owner is None:
                raise PluginError(
                    f"plugin {plugin.name!r}: event {event.name!r} needs a hookspec {item.hook_name}"
                    "(session, event) in the plugin's hookspecs module (PluginManifest.hookspecs)"
                )
            if owner != plugin.name:
                raise PluginError(
                    f"plugin {plugin.name!r}: hookspec {item.hook_name} of event {event.name!r} belongs to "
                    f"{owner!r}; declare it in your own hookspecs module"
                )
            spec = getattr(registry.pm.hook, item.hook_name).spec
            extra = set(spec.argnames) - EVENT_HOOK_ARGS
            if extra:
                raise PluginError(
                    f"plugin {plugin.name!r}: event hookspec {item.hook_name} may only take "
                    f"(session, event), not {', '.join(sorted(extra))}"
                )
            events[event.name] = item
    order = [p.name for p in registry.all()]
    subscribers: dict[str, list[str]] = {}
    for name, item in events.items():
        impls = {impl.plugin_name for impl in getattr(registry.pm.hook, item.hook_name).get_hookimpls()}
        subscribers[name] = [p for p in order if p in impls]
    return EventRegistry(registry=registry, events=events, subscribers=subscribers)


def event_registry(registry: PluginRegistry) -> EventRegistry:
    """The site's event registry, built on first use and kept with the plugin registry."""
    cached = registry.extra.get("events")
    if cached is None:
        cached = registry.extra["events"] = build_event_registry(registry)
    assert isinstance(cached, EventRegistry)
    return cached
