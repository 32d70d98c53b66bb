"""The admin services behind /api/v1/system/events: filters, pagination, detail, redelivery."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from erp_example.service import create_note

from kernel.cli import cli
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.events import admin
from kernel.testing import drain_events
from tests.events.conftest import add_rule


def _notes(site, *texts: str) -> None:
    for text in texts:
        with site.sessions.begin() as session:
            create_note(session, text=text)


def test_list_filters_by_status_plugin_and_type_newest_first(events_site) -> None:
    add_rule(events_site, "bad", "fail")
    _notes(events_site, "ok 1", "bad", "ok 2")
    with events_site.sessions() as session:
        unpublished = admin.list_events(session, status="pending")
        assert unpublished.total == 3
        assert [i.status for i in unpublished.items] == ["pending"] * 3
        assert unpublished.items[0].deliveries == []  # not yet published: no delivery rows yet
    drain_events(events_site)
    with events_site.sessions() as session:
        everything = admin.list_events(session)
        assert everything.total == 3
        assert [i.deliveries[0].plugin for i in everything.items] == ["example"] * 3
        texts = [admin.get_event(session, i.id).payload["text"] for i in everything.items]
        assert texts == ["ok 2", "bad", "ok 1"]
        assert [i.status for i in everything.items] == ["delivered", "dead", "delivered"]

        dead = admin.list_events(session, status="dead")
        assert [admin.get_event(session, i.id).payload["text"] for i in dead.items] == ["bad"]
        assert admin.list_events(session, status="dead", plugin="example").total == 0
        assert admin.list_events(session, status="dead", plugin="example_audit").total == 1
        assert admin.list_events(session, status="delivered", plugin="example").total == 3
        assert admin.list_events(session, status="pending").total == 0
        assert admin.list_events(session, event_type="note_created").total == 3
        assert admin.list_events(session, event_type="nothing_such").total == 0

        page = admin.list_events(session, limit=2, offset=2)
        assert (page.total, page.limit, page.offset, len(page.items)) == (3, 2, 2, 1)
        assert page.items[0].id == everything.items[2].id


def test_list_rejects_unknown_status_and_bad_pagination(events_site) -> None:
    with events_site.sessions() as session:
        with pytest.raises(ValidationFailed, match="unknown status"):
            admin.list_events(session, status="lost")
        with pytest.raises(ValidationFailed):
            admin.list_events(session, limit=0)
        with pytest.raises(ValidationFailed):
            admin.list_events(session, offset=-1)


def test_get_and_redeliver_unknown_event_are_not_found(events_site) -> None:
    with events_site.sessions() as session:
        with pytest.raises(NotFound):
            admin.get_event(session, uuid.uuid4())
        with pytest.raises(NotFound):
            admin.redeliver(session, uuid.uuid4())


def test_redelivering_a_delivered_event_is_a_conflict(events_site) -> None:
    _notes(events_site, "fine")
    drain_events(events_site)
    with events_site.sessions() as session:
        event_id = admin.list_events(session).items[0].id
        with pytest.raises(Conflict, match="no dead or failed delivery"):
            admin.redeliver(session, event_id)


def test_redeliver_can_target_one_plugin(events_site) -> None:
    add_rule(events_site, "bad", "fail")
    _notes(events_site, "bad")
    drain_events(events_site)
    with events_site.sessions.begin() as session:
        event_id = admin.list_events(session).items[0].id
        with pytest.raises(Conflict, match="to 'example'"):
            admin.redeliver(session, event_id, plugin="example")
        detail = admin.redeliver(session, event_id, plugin="example_audit")
    audit = next(d for d in detail.deliveries if d.plugin == "example_audit")
    assert (audit.status, audit.attempts) == ("pending", 0)
    assert audit.last_error.startswith("RuntimeError")  # kept until a later attempt succeeds


def test_erp_worker_refuses_the_in_process_broker(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERP_BROKER", "inprocess")
    monkeypatch.setenv("ERP_PLUGINS", "[]")
    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 1
    assert "lives inside one process" in result.output
