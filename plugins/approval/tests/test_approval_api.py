"""The approval endpoints under /api/v1/approvals, signed in for real: the flow, and 401/403/404/409/422."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from approval_testkit import MATERIAL_DEBT, SPK_EDIT, OwningPlugin, applied_count
from erp_approval import service
from fastapi.testclient import TestClient

from kernel.site import Site
from kernel.testing import create_test_user, login_headers

API = "/api/v1/approvals"


@dataclass
class Caller:
    """A signed-in user: their id and Authorization header."""

    id: int
    headers: dict[str, str]


@pytest.fixture
def client(make_client: Callable[..., TestClient], owner: OwningPlugin) -> TestClient:
    client = make_client(["approval", "example"])
    client.app.state.site.registry.pm.register(owner, name="testowner")  # type: ignore[attr-defined]
    return client


@pytest.fixture
def sign_in(client: TestClient) -> Callable[..., Caller]:
    def factory(role: str, department: str | None = None) -> Caller:
        user, password = create_test_user(client.app.state.site, role, department)  # type: ignore[attr-defined]
        return Caller(user.id, login_headers(client, user.username, password))

    return factory


def submit(
    client: TestClient,
    requester: Caller,
    *,
    department: str | None = "Sewing",
    request_type: str = SPK_EDIT,
    subject_id: int = 1,
    amount: Decimal | None = None,
) -> int:
    """Submit as the owning plugin would, inside its own transaction."""
    site: Site = client.app.state.site  # type: ignore[attr-defined]
    with site.sessions.begin() as session:
        return service.submit(
            session,
            request_type=request_type,
            subject_plugin="testowner",
            subject_entity="spk",
            subject_id=subject_id,
            payload={"deadline": {"old": "2026-12-01", "new": "2026-12-05"}},
            requested_by=requester.id,
            requester_department=department,
            amount=amount,
        ).id


def test_two_step_chain_through_the_api(client: TestClient, sign_in, owner: OwningPlugin) -> None:
    requester, spv, manager = sign_in("Admin Sewing"), sign_in("SPV Sewing"), sign_in("Manager")
    request_id = submit(client, requester)

    pending = client.get(f"{API}/pending", headers=spv.headers)
    assert pending.status_code == 200
    assert [r["id"] for r in pending.json()["items"]] == [request_id]
    assert client.get(f"{API}/pending", headers=manager.headers).json()["items"] == []

    first = client.post(
        f"{API}/{request_id}/approve", json={"note": "checked on the line"}, headers=spv.headers
    )
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["current_step"], first.json()["current_role"]) == (
        "pending",
        2,
        "Manager",
    )
    second = client.post(f"{API}/{request_id}/approve", headers=manager.headers)
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "approved"
    assert applied_count(client.app.state.site) == 1  # type: ignore[attr-defined]

    history = client.get(f"{API}/{request_id}/history", headers=requester.headers)
    assert history.status_code == 200
    steps = history.json()["steps"]
    assert [(s["approver_id"], s["role"], s["decision"], s["note"], s["verified"]) for s in steps] == [
        (spv.id, "SPV Sewing", "approve", "checked on the line", True),
        (manager.id, "Manager", "approve", "", True),
    ]
    assert all(s["signature"] and s["decided_at"] for s in steps)


def test_reject_needs_a_note_and_applies_nothing(client: TestClient, sign_in, owner: OwningPlugin) -> None:
    requester, spv, manager = sign_in("Admin Sewing"), sign_in("SPV Sewing"), sign_in("Manager")
    request_id = submit(client, requester)
    assert client.post(f"{API}/{request_id}/approve", headers=spv.headers).status_code == 200
    for body in ({}, {"note": ""}, {"note": "   "}):
        resp = client.post(f"{API}/{request_id}/reject", json=body, headers=manager.headers)
        assert resp.status_code == 422, body
    resp = client.post(
        f"{API}/{request_id}/reject", json={"note": "deadline too late"}, headers=manager.headers
    )
    assert resp.status_code == 200 and resp.json()["status"] == "rejected"
    assert applied_count(client.app.state.site) == 0  # type: ignore[attr-defined]
    assert [c[1] for c in owner.calls] == ["rejected"]


def test_the_body_cannot_choose_the_step_or_role(client: TestClient, sign_in) -> None:
    requester, spv = sign_in("Admin Sewing"), sign_in("SPV Sewing")
    request_id = submit(client, requester)
    for extra in ({"step": 2}, {"level": 2}, {"role": "Manager"}):
        resp = client.post(f"{API}/{request_id}/approve", json={"note": "", **extra}, headers=spv.headers)
        assert resp.status_code == 422, extra
    assert client.get(f"{API}/{request_id}", headers=requester.headers).json()["current_step"] == 1


def test_forbidden_decisions_are_403(client: TestClient, sign_in) -> None:
    requester = sign_in("Admin Sewing")
    request_id = submit(client, requester)
    assert client.post(f"{API}/{request_id}/approve").status_code == 401
    # No approval.request.decide at all:
    assert client.post(f"{API}/{request_id}/approve", headers=requester.headers).status_code == 403
    # An SPV of another department:
    resp = client.post(f"{API}/{request_id}/approve", headers=sign_in("SPV Cutting").headers)
    assert resp.status_code == 403
    assert "SPV Sewing" in resp.json()["detail"]
    # Superadmin holds every permission but not the step's role: no bypass.
    assert (
        client.post(f"{API}/{request_id}/approve", headers=sign_in("Superadmin").headers).status_code == 403
    )
    # The requester cannot approve their own request.
    spv = sign_in("SPV Sewing")
    own = submit(client, spv, subject_id=2)
    resp = client.post(f"{API}/{own}/approve", headers=spv.headers)
    assert resp.status_code == 403 and "you submitted" in resp.json()["detail"]


def test_deciding_a_step_twice_or_out_of_turn_is_409(client: TestClient, sign_in) -> None:
    requester, spv, spv2, manager = (
        sign_in("Admin Sewing"),
        sign_in("SPV Sewing"),
        sign_in("SPV Sewing"),
        sign_in("Manager"),
    )
    request_id = submit(client, requester)
    assert client.post(f"{API}/{request_id}/approve", headers=manager.headers).status_code == 409  # not yet
    assert client.post(f"{API}/{request_id}/approve", headers=spv.headers).status_code == 200
    assert client.post(f"{API}/{request_id}/approve", headers=spv2.headers).status_code == 409  # taken
    assert client.post(f"{API}/{request_id}/approve", headers=manager.headers).status_code == 200
    closed = client.post(f"{API}/{request_id}/reject", json={"note": "late"}, headers=manager.headers)
    assert closed.status_code == 409
    assert closed.headers["content-type"].startswith("application/problem+json")


def test_unknown_or_invisible_requests_are_404(client: TestClient, sign_in) -> None:
    requester = sign_in("Admin Sewing")
    request_id = submit(client, requester)
    outsider = sign_in("SPV Cutting")
    for path in (f"{API}/{request_id}", f"{API}/{request_id}/history", f"{API}/999999"):
        assert client.get(path, headers=outsider.headers).status_code == 404, path
    assert client.post(f"{API}/999999/approve", headers=sign_in("Manager").headers).status_code == 404
    overseer = sign_in("Finance Manager")  # approval.request.view_all
    assert client.get(f"{API}/{request_id}", headers=overseer.headers).status_code == 200


def test_pending_is_paginated_and_filtered_by_type(client: TestClient, sign_in) -> None:
    requester, spv = sign_in("Admin Sewing"), sign_in("SPV Sewing")
    ids = [submit(client, requester, subject_id=i) for i in range(1, 4)]
    debt = submit(client, requester, request_type=MATERIAL_DEBT, subject_id=9, amount=Decimal("10"))
    page = client.get(f"{API}/pending", params={"limit": 2, "offset": 1}, headers=spv.headers).json()
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [r["id"] for r in page["items"]] == [ids[1], ids[2]]
    only_debts = client.get(f"{API}/pending", params={"request_type": MATERIAL_DEBT}, headers=spv.headers)
    assert [r["id"] for r in only_debts.json()["items"]] == [debt]
    assert client.get(f"{API}/pending", params={"limit": 0}, headers=spv.headers).status_code == 422


def test_list_shows_mine_and_what_i_may_see(client: TestClient, sign_in) -> None:
    requester, other = sign_in("Admin Sewing"), sign_in("Admin Cutting")
    mine = submit(client, requester, subject_id=1)
    theirs = submit(client, other, department="Cutting", subject_id=2)
    listed = client.get(API, headers=requester.headers).json()
    assert [r["id"] for r in listed["items"]] == [mine]
    manager = sign_in("Manager")
    assert {r["id"] for r in client.get(API, headers=manager.headers).json()["items"]} == {mine, theirs}
    assert client.get(API, params={"mine": True}, headers=manager.headers).json()["total"] == 0
    assert client.get(API, params={"status": "approved"}, headers=manager.headers).json()["total"] == 0
    assert client.get(API, params={"status": "bogus"}, headers=manager.headers).status_code == 422


def test_cancel_by_the_requester_only_while_pending(client: TestClient, sign_in, owner: OwningPlugin) -> None:
    requester, spv = sign_in("Admin Sewing"), sign_in("SPV Sewing")
    request_id = submit(client, requester)
    assert client.post(f"{API}/{request_id}/cancel", headers=spv.headers).status_code == 403
    resp = client.post(f"{API}/{request_id}/cancel", headers=requester.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    assert client.post(f"{API}/{request_id}/cancel", headers=requester.headers).status_code == 409
    assert client.get(f"{API}/pending", headers=spv.headers).json()["total"] == 0
    assert owner.calls == [(request_id, "cancelled", None)]


def test_approve_is_safe_to_retry_with_an_idempotency_key(client: TestClient, sign_in) -> None:
    requester, spv = sign_in("Admin Sewing"), sign_in("SPV Sewing")
    request_id = submit(client, requester)
    headers = {**spv.headers, "Idempotency-Key": "approve-1-from-android"}
    first = client.post(f"{API}/{request_id}/approve", json={"note": "ok"}, headers=headers)
    again = client.post(f"{API}/{request_id}/approve", json={"note": "ok"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotency-Replayed") == "true"
    assert again.json() == first.json()
    history = client.get(f"{API}/{request_id}/history", headers=spv.headers).json()
    assert [s["state"] for s in history["steps"]] == ["approved", "current"]


def test_policies_for_administrators(client: TestClient, sign_in) -> None:
    admin, manager, requester = sign_in("Admin"), sign_in("Manager"), sign_in("Admin Sewing")
    listed = client.get(f"{API}/policies", headers=admin.headers)
    assert listed.status_code == 200
    assert [(p["request_type"], p["version"], p["source"]) for p in listed.json()] == [
        (MATERIAL_DEBT, 1, "default"),
        (SPK_EDIT, 1, "default"),
    ]
    assert client.get(f"{API}/policies", headers=requester.headers).status_code == 403
    pending = submit(client, requester)

    body = {
        "steps": [
            {"role": "SPV {department}", "department_scoped": True},
            {"role": "Manager"},
            {"role": "Finance Manager"},
        ]
    }
    assert client.put(f"{API}/policies/{SPK_EDIT}", json=body, headers=manager.headers).status_code == 403
    updated = client.put(f"{API}/policies/{SPK_EDIT}", json=body, headers=admin.headers)
    assert updated.status_code == 200, updated.text
    assert (updated.json()["version"], updated.json()["source"], updated.json()["changed_by"]) == (
        2,
        "api",
        admin.id,
    )
    assert (
        client.put(f"{API}/policies/{SPK_EDIT}", json={"steps": []}, headers=admin.headers).status_code == 422
    )
    bad = {"steps": [{"role": "Manager", "min_amount": 5}]}
    assert client.put(f"{API}/policies/{SPK_EDIT}", json=bad, headers=admin.headers).status_code == 422
    assert (
        client.put(f"{API}/policies/testowner.nothing", json=body, headers=admin.headers).status_code == 404
    )

    kept = client.get(f"{API}/{pending}", headers=requester.headers).json()
    assert [s["role"] for s in kept["steps"]] == ["SPV Sewing", "Manager"]  # started before the change
    fresh = client.get(f"{API}/{submit(client, requester, subject_id=5)}", headers=requester.headers).json()
    assert [s["role"] for s in fresh["steps"]] == ["SPV Sewing", "Manager", "Finance Manager"]


def test_current_approvers_are_exactly_who_may_decide_the_step(client: TestClient, sign_in) -> None:
    site: Site = client.app.state.site  # type: ignore[attr-defined]
    spv, spv2 = sign_in("SPV Sewing"), sign_in("SPV Sewing")
    sign_in("SPV Cutting")
    managers = [sign_in("Manager"), sign_in("Manager")]
    request_id = submit(client, spv)  # an SPV requests: they must not be asked to approve it

    def approvers() -> list[int]:
        with site.sessions() as session:
            return service.current_approvers(
                session, request=service.get_request(session, request_id=request_id)
            )

    assert approvers() == [spv2.id]
    assert client.post(f"{API}/{request_id}/approve", headers=spv2.headers).status_code == 200
    assert approvers() == sorted(m.id for m in managers)
    assert client.post(f"{API}/{request_id}/approve", headers=managers[0].headers).status_code == 200
    assert approvers() == []
