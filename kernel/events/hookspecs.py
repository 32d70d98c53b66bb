"""Kernel hookspec for declaring events (registered through ``core_plugin.HOOKSPEC_MODULES``).

The events themselves are hookspecs of the declaring plugin's own hookspecs module: one
``on_<event>(session, event)`` per event, whose docstring says it is an event hook (after commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from kernel.events.declare import Event

hookspec = pluggy.HookspecMarker("erp")


# --- events -------------------------------------------------------------------------------------


@hookspec
def erp_events() -> Sequence[Event[Any]]:  # type: ignore[empty-body]
    """Return the events this plugin emits: ``kernel.events.Event(name, version, payload)`` each.

    Called once per site (at start-up of the app and the worker). Each event needs a hookspec
    ``on_<name>(session, event)`` in the plugin's own hookspecs module (``PluginManifest.hookspecs``);
    subscribers implement ``on_<name>`` and are called after commit, by a worker, once per event.
    Event names are global: a name declared by two plugins stops start-up.

    :returns: the event declarations, in any order.
    """
