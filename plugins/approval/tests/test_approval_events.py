"""The approval plugin's events: ``approval_step_ready`` names exactly the current step's approvers and is
emitted once per step reached; ``approval_resolved`` is emitted once per closed request, and neither
exists when the transaction that would have emitted it rolls back. Checked on the outbox rows as
committed, and end to end through ``drain_events`` with a subscribing plugin."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from approval_testkit import MATERIAL_DEBT, SPK_EDIT, OwningPlugin, User, decide_as, status_of, submit_as
from erp_approval import service
from sqlalchemy import select

from kernel.errors import Conflict, PermissionDenied
from kernel.events import EventEnvelope
from kernel.events.models import OutboxEvent
from kernel.plugins import LoadedPlugin, PluginManifest, hookimpl
from kernel.site import Site
from kernel.testing import drain_events

STEP_READY = "approval_step_ready"
RESOLVED = "approval_resolved"


def outbox(site: Site, name: str, request_id: int | None = None) -> list[dict[str, Any]]:
    """Committed payloads of ``name`` events (of one request), in emit order; checks the aggregate."""
    with site.sessions() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.name == name).order_by(OutboxEvent.seq))
        out = []
        for row in rows:
            assert row.aggregate == f"approval_request:{row.payload['request_id']}"
            if request_id is None or row.payload["request_id"] == request_id:
                out.append(row.payload)
        return out


def real_user(site: Site, make_user: Any, *roles: str, department: str | None = None) -> User:
    """An active kernel user with ``roles``, as the approval testkit's caller."""
    user, _ = make_user(site, roles=list(roles), department=department)
    return User(user.id, tuple(roles), department)


@pytest.fixture
def people(site: Site, make_user: Any) -> dict[str, User]:
    """Real users: the requester (an SPV of Sewing), the people who may or may not approve."""
    return {
        "requester": real_user(site, make_user, "SPV Sewing", department="Sewing"),
        "spv": real_user(site, make_user, "SPV Sewing", department="Sewing"),
        # Both roles: may decide step 1 or 2, but one person decides at most one step of a request.
        "spv_manager": real_user(site, make_user, "SPV Sewing", "Manager", department="Sewing"),
        "spv_cutting": real_user(site, make_user, "SPV Cutting", department="Cutting"),
        "manager": real_user(site, make_user, "Manager"),
        "manager_2": real_user(site, make_user, "Manager"),
        "finance": real_user(site, make_user, "Finance Manager"),
        "admin": real_user(site, make_user, "Admin"),
    }


def test_on_approval_step_ready_names_exactly_the_approvers_of_the_current_step(
    site: Site, people: dict[str, User]
) -> None:
    p = people
    request_id = submit_as(site, p["requester"], subject_id=7)
    first = outbox(site, STEP_READY)
    assert first == [
        {
            "request_id": request_id,
            "request_type": SPK_EDIT,
            "subject": {"plugin": "testowner", "entity": "spk", "id": "7"},
            "step": 1,
            "step_name": "SPV",
            "role": "SPV Sewing",
            "department": "Sewing",
            # Not the requester (also an SPV of Sewing), not the SPV of Cutting, not the managers.
            "approver_ids": sorted([p["spv"].id, p["spv_manager"].id]),
            "requested_by": p["requester"].id,
        }
    ]

    decide_as(site, p["spv_manager"], request_id)
    second = outbox(site, STEP_READY)
    assert len(second) == 2 and second[0] == first[0]
    assert second[1]["step"] == 2 and second[1]["role"] == "Manager" and second[1]["step_name"] == "Manager"
    assert second[1]["department"] is None  # step 2 is not department-scoped
    # The SPV-and-Manager decided step 1, so step 2 is not theirs.
    assert second[1]["approver_ids"] == sorted([p["manager"].id, p["manager_2"].id])
    with site.sessions() as session:
        request = service.get_request(session, request_id=request_id)
        assert second[1]["approver_ids"] == service.current_approvers(session, request=request)

    decide_as(site, p["manager"], request_id)
    assert len(outbox(site, STEP_READY)) == 2  # the last approval opens no step


def test_on_approval_step_ready_is_emitted_once_per_step_reached(site: Site, people: dict[str, User]) -> None:
    p = people
    big = submit_as(site, p["requester"], request_type=MATERIAL_DEBT, amount=Decimal("60000000"))
    assert [e["step"] for e in outbox(site, STEP_READY, big)] == [1]
    decide_as(site, p["spv"], big)
    assert [e["step"] for e in outbox(site, STEP_READY, big)] == [1, 2]
    decide_as(site, p["manager"], big)
    ready = outbox(site, STEP_READY, big)
    assert [(e["step"], e["role"]) for e in ready] == [
        (1, "SPV Sewing"),
        (2, "Manager"),
        (3, "Finance Manager"),
    ]
    assert ready[2]["approver_ids"] == [p["finance"].id]
    decide_as(site, p["finance"], big)
    assert len(outbox(site, STEP_READY, big)) == 3
    assert [e["outcome"] for e in outbox(site, RESOLVED, big)] == ["approved"]

    # Refused attempts (another department's SPV, the requester) and a rejection open no step.
    other = submit_as(site, p["requester"], subject_id=202)
    with pytest.raises(PermissionDenied):
        decide_as(site, p["spv_cutting"], other)
    with pytest.raises(PermissionDenied):
        decide_as(site, p["requester"], other)
    decide_as(site, p["spv"], other, "reject", note="wrong quantity")
    assert [e["step"] for e in outbox(site, STEP_READY, other)] == [1]


def test_on_approval_resolved_fires_once_on_the_final_approval(site: Site, people: dict[str, User]) -> None:
    p = people
    request_id = submit_as(site, p["requester"], subject_id=9)
    decide_as(site, p["spv"], request_id, note="fine by the line")
    assert outbox(site, RESOLVED) == []  # an intermediate approval resolves nothing
    final = decide_as(site, p["manager"], request_id, note="go")
    assert outbox(site, RESOLVED) == [
        {
            "request_id": request_id,
            "request_type": SPK_EDIT,
            "subject": {"plugin": "testowner", "entity": "spk", "id": "9"},
            "outcome": "approved",
            "decided_by": p["manager"].id,
            "step": 2,
            "note": "go",
            "decision_id": final.id,
            "requested_by": p["requester"].id,
        }
    ]
    with pytest.raises(Conflict):
        decide_as(site, p["manager_2"], request_id)  # too late: no second event
    assert len(outbox(site, RESOLVED)) == 1


def test_on_approval_resolved_fires_once_on_rejection_and_on_cancel(
    site: Site, people: dict[str, User]
) -> None:
    p = people
    rejected = submit_as(site, p["requester"], subject_id=1)
    decide_as(site, p["spv"], rejected)
    decision = decide_as(site, p["manager"], rejected, "reject", note="not this week")
    cancelled = submit_as(site, p["requester"], subject_id=2)
    with pytest.raises(PermissionDenied):
        service_cancel(site, cancelled, p["spv"].id)  # only the requester
    service_cancel(site, cancelled, p["requester"].id)
    with pytest.raises(Conflict):
        service_cancel(site, cancelled, p["requester"].id)

    resolved = {e["request_id"]: e for e in outbox(site, RESOLVED)}
    assert len(outbox(site, RESOLVED)) == 2
    assert resolved[rejected] | {"subject": None} == {
        "request_id": rejected,
        "request_type": SPK_EDIT,
        "subject": None,
        "outcome": "rejected",
        "decided_by": p["manager"].id,
        "step": 2,
        "note": "not this week",
        "decision_id": decision.id,
        "requested_by": p["requester"].id,
    }
    assert resolved[cancelled] == {
        "request_id": cancelled,
        "request_type": SPK_EDIT,
        "subject": {"plugin": "testowner", "entity": "spk", "id": "2"},
        "outcome": "cancelled",
        "decided_by": p["requester"].id,
        "step": 1,
        "note": "",
        "decision_id": None,
        "requested_by": p["requester"].id,
    }


def service_cancel(site: Site, request_id: int, user_id: int) -> None:
    with site.sessions.begin() as session:
        service.cancel(session, request_id=request_id, user_id=user_id)


def test_on_approval_resolved_never_fires_for_a_rolled_back_decision(
    site: Site, owner: OwningPlugin, people: dict[str, User]
) -> None:
    p = people
    request_id = submit_as(site, p["requester"])
    decide_as(site, p["spv"], request_id)
    owner.veto = True  # the owner refuses in-transaction: the closing decision rolls back
    with pytest.raises(Conflict, match="completed meanwhile"):
        decide_as(site, p["manager"], request_id)
    with pytest.raises(Conflict, match="completed meanwhile"):
        decide_as(site, p["manager"], request_id, "reject", note="no")
    with pytest.raises(Conflict, match="completed meanwhile"):
        service_cancel(site, request_id, p["requester"].id)
    assert outbox(site, RESOLVED) == []
    assert status_of(site, request_id) == ("pending", 2, 1)

    # Any other failure after the service succeeded rolls its events back with it too.
    owner.veto = False
    with pytest.raises(RuntimeError), site.sessions.begin() as session:
        service.decide(
            session,
            request_id=request_id,
            approver_id=p["manager"].id,
            approver_roles=p["manager"].roles,
            approver_department=None,
            decision="approve",
        )
        raise RuntimeError("the caller's transaction fails later")
    with pytest.raises(RuntimeError), site.sessions.begin() as session:
        service.submit(
            session,
            request_type=SPK_EDIT,
            subject_plugin="testowner",
            subject_entity="spk",
            subject_id=999,
            payload={},
            requested_by=p["requester"].id,
            requester_department="Sewing",
        )
        raise RuntimeError("the caller's transaction fails later")
    assert outbox(site, RESOLVED) == []
    assert [e["request_id"] for e in outbox(site, STEP_READY)] == [request_id, request_id]

    decide_as(site, p["manager"], request_id)
    assert [e["outcome"] for e in outbox(site, RESOLVED)] == ["approved"]


def test_on_approval_resolved_once_when_two_approvers_race(site: Site, people: dict[str, User]) -> None:
    p = people
    request_id = submit_as(site, p["requester"])
    decide_as(site, p["spv"], request_id)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def approve(user: User) -> None:
        barrier.wait()
        try:
            decide_as(site, user, request_id)
        except Conflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=approve, args=(u,)) for u in (p["manager"], p["manager_2"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 1
    assert len(outbox(site, RESOLVED)) == 1


class Notifier:
    """A subscribing plugin, as a notifier would be: records what it is handed, after commit."""

    manifest = PluginManifest(name="notifier", version="1", kernel_api=(1,))

    def __init__(self) -> None:
        self.ready: list[tuple[int, int, list[int]]] = []
        self.resolved: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    @hookimpl
    def on_approval_step_ready(self, session: Any, event: EventEnvelope[Any]) -> None:
        with self.lock:
            self.ready.append((event.payload.request_id, event.payload.step, event.payload.approver_ids))

    @hookimpl
    def on_approval_resolved(self, session: Any, event: EventEnvelope[Any]) -> None:
        with self.lock:
            self.resolved.append((event.payload.request_id, event.payload.outcome))


def test_on_approval_step_ready_and_on_approval_resolved_reach_a_subscriber_after_commit(
    site: Site, people: dict[str, User]
) -> None:
    notifier = Notifier()
    site.registry.pm.register(notifier, name="notifier")
    site.registry.plugins.append(LoadedPlugin(notifier.manifest, notifier))  # type: ignore[arg-type]
    site.registry.extra.pop("events", None)  # subscribers are collected on first use
    p = people
    request_id = submit_as(site, p["requester"])
    decide_as(site, p["spv"], request_id)
    drain_events(site)
    assert notifier.ready == [
        (request_id, 1, sorted([p["spv"].id, p["spv_manager"].id])),
        (request_id, 2, sorted([p["manager"].id, p["manager_2"].id, p["spv_manager"].id])),
    ]
    assert notifier.resolved == []
    decide_as(site, p["manager"], request_id)
    drain_events(site)
    assert notifier.resolved == [(request_id, "approved")]
    assert len(notifier.ready) == 2
