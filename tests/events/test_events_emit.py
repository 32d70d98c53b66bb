"""Declaring and emitting events: validation, the caller's transaction, vetoes, start-up checks."""

from __future__ import annotations

import types
from typing import Any

import pytest
from erp_example.events import NOTE_CREATED, NoteCreated
from erp_example.models import Note, NoteEvent
from erp_example.service import create_note
from erp_example_audit.models import AuditEntry
from sqlalchemy import select

from kernel.events import EventError, emit
from kernel.events.declare import build_event_registry
from kernel.events.models import EventDelivery, OutboxEvent
from kernel.logs import request_id_var
from kernel.plugins import LoadedPlugin, PluginError, PluginManifest, hookimpl
from kernel.testing import drain_events
from tests.events.conftest import add_rule, count


def test_emit_writes_the_outbox_row_inside_the_callers_transaction(events_site) -> None:
    token = request_id_var.set("req-emit-1")
    try:
        with events_site.sessions() as session:
            note = create_note(session, text="hello")
            # Not committed: no other transaction can see (let alone publish) the event yet.
            assert count(events_site, OutboxEvent) == 0
            session.commit()
    finally:
        request_id_var.reset(token)
    with events_site.sessions() as session:
        row = session.scalars(select(OutboxEvent)).one()
    assert (row.name, row.version, row.aggregate) == ("note_created", 1, f"note:{note.id}")
    assert row.payload == {"note_id": note.id, "text": "hello"}
    assert row.request_id == "req-emit-1"
    assert row.published_at is None


def test_rollback_after_emit_publishes_and_delivers_nothing(events_site) -> None:
    with events_site.sessions() as session:
        create_note(session, text="never committed")
        session.rollback()
    drain_events(events_site)
    assert count(events_site, OutboxEvent) == 0
    assert count(events_site, EventDelivery) == 0
    assert count(events_site, NoteEvent) == 0
    assert count(events_site, AuditEntry) == 0


def test_emit_refuses_an_undeclared_event_and_a_payload_not_matching_its_schema(events_site) -> None:
    with events_site.sessions() as session:
        with pytest.raises(EventError, match="not declared"):
            emit(session, "note_deleted", {"note_id": 1})
        with pytest.raises(EventError, match="does not match NoteCreated"):
            emit(session, "note_created", {"note_id": "not a number", "text": "x"})
        with pytest.raises(EventError, match="does not match"):
            emit(session, "note_created", {"text": "no id"})
        # A dict and the schema instance are both accepted when valid.
        emit(session, "note_created", {"note_id": 1, "text": "dict"})
        emit(session, "note_created", NoteCreated(note_id=2, text="model"))
        session.commit()
    assert count(events_site, OutboxEvent) == 2


def test_emit_needs_a_session_of_a_site(events_site) -> None:
    from sqlalchemy.orm import Session

    with Session(events_site.engine) as foreign, pytest.raises(RuntimeError, match="session factory"):
        emit(foreign, "note_created", {"note_id": 1, "text": "x"})


def test_on_note_creating_veto_is_a_409_and_writes_nothing(make_client, auth_headers) -> None:
    client = make_client(["example", "example_audit"])
    client.headers.update(auth_headers(client, "Warehouse Admin"))
    site = client.app.state.site
    add_rule(site, "forbidden", "veto")
    resp = client.post("/api/v1/example/notes", json={"text": "forbidden"})
    assert resp.status_code == 409, resp.text
    assert "refused by the audit plugin" in resp.json()["detail"]
    assert count(site, Note) == 0
    assert count(site, OutboxEvent) == 0


def test_subscribers_are_the_plugins_implementing_the_hook_in_load_order(events_site) -> None:
    registry = build_event_registry(events_site.registry)
    assert registry.subscribers == {"note_created": ["example", "example_audit"]}
    assert registry.get("note_created").plugin == "example"


def _rogue(registry: Any, name: str, **hooks: Any) -> None:
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, hookimpl(fn))
    module.manifest = PluginManifest(name=name, version="1", kernel_api=(1,))  # type: ignore[attr-defined]
    registry.pm.register(module, name=name)
    registry.plugins.append(LoadedPlugin(module.manifest, module))  # type: ignore[attr-defined]


def test_erp_events_declared_twice_stops_start_up(make_site) -> None:
    site = make_site(["example"])
    _rogue(site.registry, "rogue", erp_events=lambda: [NOTE_CREATED])
    with pytest.raises(PluginError, match="'note_created' is already declared by plugin 'example'"):
        build_event_registry(site.registry)


def test_an_event_without_its_hookspec_stops_start_up(make_site) -> None:
    from kernel.events import Event

    site = make_site(["example"])
    event = Event(name="rogue_happened", version=1, payload=NoteCreated)
    _rogue(site.registry, "rogue", erp_events=lambda: [event])
    with pytest.raises(PluginError, match="needs a hookspec on_rogue_happened"):
        build_event_registry(site.registry)


def test_an_event_whose_hookspec_belongs_to_another_plugin_stops_start_up(make_site) -> None:
    from kernel.events import Event

    site = make_site(["example"])
    event = Event(name="note_creating", version=1, payload=NoteCreated)
    _rogue(site.registry, "rogue", erp_events=lambda: [event])
    with pytest.raises(PluginError, match="belongs to 'example'"):
        build_event_registry(site.registry)
