"""The approval engine at the service level, on PostgreSQL: chains, roles, departments, atomic apply,
cancel, the pending list, and concurrent decisions."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from approval_testkit import (
    ADMIN_SEWING,
    FINANCE,
    MANAGER,
    MANAGER_2,
    MATERIAL_DEBT,
    SPK_EDIT,
    SPV_CUTTING,
    SPV_ROLE_WRONG_DEPT,
    SPV_SEWING,
    SPV_SEWING_2,
    OwningPlugin,
    User,
    applied_count,
    decide_as,
    status_of,
    submit_as,
)
from erp_approval import service
from erp_approval.models import ApprovalDecision, ApprovalRequest
from sqlalchemy import select

from kernel.errors import Conflict, ErpError, NotFound, PermissionDenied, ValidationFailed
from kernel.site import Site


def test_two_step_chain_approved_by_the_right_roles_applies_once(site: Site, owner: OwningPlugin) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    with site.sessions() as session:
        request = service.get_request(session, request_id=request_id)
        assert [(s.step, s.role, s.department_scoped) for s in request.steps] == [
            (1, "SPV Sewing", True),
            (2, "Manager", False),
        ]

    first = decide_as(site, SPV_SEWING, request_id, note="ok from the line")
    assert (first.step, first.role) == (1, "SPV Sewing")
    assert status_of(site, request_id) == ("pending", 2, 1)
    assert applied_count(site) == 0  # the first approver does not finalise anything
    assert owner.calls == []

    final = decide_as(site, MANAGER, request_id)
    assert (final.step, final.role) == (2, "Manager")
    assert status_of(site, request_id) == ("approved", None, 2)
    assert applied_count(site) == 1
    assert owner.calls == [(request_id, "approved", final.id)]

    with pytest.raises(Conflict, match="already approved"):
        decide_as(site, MANAGER_2, request_id)
    assert applied_count(site) == 1


def test_rejected_at_step_two_applies_nothing(site: Site, owner: OwningPlugin) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    decide_as(site, SPV_SEWING, request_id)
    with pytest.raises(ValidationFailed, match="needs a note"):
        decide_as(site, MANAGER, request_id, "reject", note="  ")
    rejection = decide_as(site, MANAGER, request_id, "reject", note="quantity below what is produced")
    assert status_of(site, request_id) == ("rejected", None, 2)
    assert applied_count(site) == 0
    assert owner.calls == [(request_id, "rejected", rejection.id)]


def test_requester_cannot_approve_their_own_request(site: Site) -> None:
    request_id = submit_as(site, SPV_SEWING)
    with pytest.raises(PermissionDenied, match="you submitted"):
        decide_as(site, SPV_SEWING, request_id)
    assert status_of(site, request_id) == ("pending", 1, 0)
    with site.sessions() as session:
        mine, _ = service.list_pending(session, approver=_approver(SPV_SEWING))
        assert mine == []


def test_spv_of_another_department_cannot_decide(site: Site) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    with pytest.raises(PermissionDenied, match="needs the role 'SPV Sewing'"):
        decide_as(site, SPV_CUTTING, request_id)
    with pytest.raises(PermissionDenied, match="Sewing department"):
        decide_as(site, SPV_ROLE_WRONG_DEPT, request_id)
    assert status_of(site, request_id) == ("pending", 1, 0)


def test_steps_cannot_be_skipped_repeated_or_taken_twice_by_one_person(site: Site) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    with pytest.raises(Conflict, match="waits for step 1"):
        decide_as(site, MANAGER, request_id)  # the Manager's step is not current yet
    decide_as(site, SPV_SEWING, request_id)
    with pytest.raises(Conflict, match="already decided"):
        decide_as(site, SPV_SEWING_2, request_id)  # step 1 is taken
    both = User(20, ("SPV Sewing", "Manager"), "Sewing")
    other = submit_as(site, ADMIN_SEWING, subject_id=102)
    decide_as(site, both, other)
    with pytest.raises(PermissionDenied, match="already decided a step"):
        decide_as(site, both, other)  # one person, one level
    with pytest.raises(NotFound):
        decide_as(site, MANAGER, 999_999)
    with pytest.raises(ValidationFailed):
        decide_as(site, MANAGER, other, "approve-all")


def test_on_approval_decided_veto_rolls_back_the_decision(site: Site, owner: OwningPlugin) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    decide_as(site, SPV_SEWING, request_id)
    owner.veto = True
    with pytest.raises(Conflict, match="cannot be applied"):
        decide_as(site, MANAGER, request_id)
    assert status_of(site, request_id) == ("pending", 2, 1)  # the final decision is not recorded
    owner.veto = False
    decide_as(site, MANAGER, request_id)
    assert applied_count(site) == 1


def test_on_approval_decided_runs_in_the_deciders_transaction(site: Site, owner: OwningPlugin) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    decide_as(site, SPV_SEWING, request_id)
    with site.sessions() as session:
        service.decide(
            session,
            request_id=request_id,
            approver_id=MANAGER.id,
            approver_roles=MANAGER.roles,
            approver_department=None,
            decision="approve",
            note="",
        )
        assert owner.calls and owner.calls[0][1] == "approved"
        session.rollback()  # the caller's transaction fails after the decision: nothing stays
    assert status_of(site, request_id) == ("pending", 2, 1)
    assert applied_count(site) == 0


def test_cancel_by_the_requester_while_pending(site: Site, owner: OwningPlugin) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    with site.sessions.begin() as session, pytest.raises(PermissionDenied):
        service.cancel(session, request_id=request_id, user_id=SPV_SEWING.id)
    with site.sessions.begin() as session:
        service.cancel(session, request_id=request_id, user_id=ADMIN_SEWING.id)
    assert status_of(site, request_id) == ("cancelled", None, 0)
    assert owner.calls == [(request_id, "cancelled", None)]
    with site.sessions.begin() as session, pytest.raises(Conflict, match="already cancelled"):
        service.cancel(session, request_id=request_id, user_id=ADMIN_SEWING.id)
    with pytest.raises(Conflict):
        decide_as(site, SPV_SEWING, request_id)


def test_one_pending_request_per_subject_and_type(site: Site) -> None:
    submit_as(site, ADMIN_SEWING, subject_id=7)
    with pytest.raises(Conflict, match="already has a pending"):
        submit_as(site, ADMIN_SEWING, subject_id=7)
    submit_as(site, ADMIN_SEWING, subject_id=8)


def test_submit_refuses_bad_input(site: Site) -> None:
    with pytest.raises(NotFound, match="declares"):
        submit_as(site, ADMIN_SEWING, request_type="testowner.unknown")
    with pytest.raises(ValidationFailed, match="requester_department"):
        submit_as(site, User(30, ("Manager",), None))
    with pytest.raises(ValidationFailed, match="amount"):
        submit_as(site, ADMIN_SEWING, request_type=MATERIAL_DEBT, amount=Decimal("-1"))
    with pytest.raises(ValidationFailed, match="JSON"):
        submit_as(site, ADMIN_SEWING, payload={"when": object()})


def test_amount_threshold_adds_a_step(site: Site) -> None:
    small = submit_as(site, ADMIN_SEWING, request_type=MATERIAL_DEBT, subject_id=1, amount=Decimal("1000000"))
    large = submit_as(
        site, ADMIN_SEWING, request_type=MATERIAL_DEBT, subject_id=2, amount=Decimal("50000000")
    )
    with site.sessions() as session:
        assert [s.role for s in service.get_request(session, request_id=small).steps] == [
            "SPV Sewing",
            "Manager",
        ]
        assert [s.role for s in service.get_request(session, request_id=large).steps] == [
            "SPV Sewing",
            "Manager",
            "Finance Manager",
        ]
    for user in (SPV_SEWING, MANAGER):
        decide_as(site, user, large)
    assert status_of(site, large)[0] == "pending"  # the Manager does not finalise a debt above the cap
    decide_as(site, FINANCE, large)
    assert status_of(site, large)[0] == "approved"


def test_site_cap_from_config_replaces_the_threshold(approval_site) -> None:
    site = approval_site(plugin={"approval": {"amount_caps": {MATERIAL_DEBT: "10000000"}}})
    request_id = submit_as(site, ADMIN_SEWING, request_type=MATERIAL_DEBT, amount=Decimal("12000000"))
    with site.sessions() as session:
        assert len(service.get_request(session, request_id=request_id).steps) == 3


def test_pending_list_shows_only_what_the_caller_may_decide_now(site: Site) -> None:
    spk = submit_as(site, ADMIN_SEWING, subject_id=1)
    debt = submit_as(site, ADMIN_SEWING, request_type=MATERIAL_DEBT, subject_id=2, amount=Decimal("5"))
    cutting = submit_as(site, User(40, ("Admin Cutting",), "Cutting"), subject_id=3)
    decide_as(site, SPV_SEWING, debt)

    def pending(user: User, request_type: str | None = None) -> list[int]:
        with site.sessions() as session:
            items, total = service.list_pending(session, approver=_approver(user), request_type=request_type)
            assert total == len(items)
            return [r.id for r in items]

    assert pending(SPV_SEWING) == [spk]  # decided the debt already; the Cutting SPK is not theirs
    assert pending(SPV_SEWING_2) == [spk]
    assert pending(SPV_CUTTING) == [cutting]
    assert pending(SPV_ROLE_WRONG_DEPT) == []
    assert pending(MANAGER) == [debt]
    assert pending(MANAGER, SPK_EDIT) == []
    with site.sessions() as session:
        page, total = service.list_pending(session, approver=_approver(SPV_SEWING_2), limit=1, offset=1)
        assert (page, total) == ([], 1)
        visible, _ = service.list_requests(session, approver=_approver(MANAGER))
        assert {r.id for r in visible} == {spk, debt, cutting}  # Manager is a step of every chain
        visible, _ = service.list_requests(session, approver=_approver(SPV_CUTTING))
        assert [r.id for r in visible] == [cutting]
        with pytest.raises(NotFound):
            service.can_see(session, request_id=spk, approver=_approver(SPV_CUTTING))


@pytest.mark.parametrize("step", [1, 2])
def test_concurrent_decisions_on_one_step_exactly_one_wins(site: Site, step: int) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    rivals = (SPV_SEWING, SPV_SEWING_2) if step == 1 else (MANAGER, MANAGER_2)
    if step == 2:
        decide_as(site, SPV_SEWING, request_id)
    barrier = threading.Barrier(len(rivals))
    outcomes: dict[int, object] = {}

    def decide(user: User) -> None:
        try:
            with site.sessions.begin() as session:
                barrier.wait()
                service.decide(
                    session,
                    request_id=request_id,
                    approver_id=user.id,
                    approver_roles=user.roles,
                    approver_department=user.department,
                    decision="approve",
                    note="",
                )
                time.sleep(0.3)  # hold the lock so the rival really waits on it
            outcomes[user.id] = "won"
        except ErpError as exc:
            outcomes[user.id] = exc

    threads = [threading.Thread(target=decide, args=(user,)) for user in rivals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(str, outcomes.values())).count("won") == 1
    losers = [o for o in outcomes.values() if o != "won"]
    assert len(losers) == 1 and isinstance(losers[0], Conflict)
    with site.sessions() as session:
        decisions = session.scalars(select(ApprovalDecision).where(ApprovalDecision.request_id == request_id))
        assert [d.step for d in decisions] == list(range(1, step + 1))
        request = session.get(ApprovalRequest, request_id)
        assert request is not None
        assert request.status == ("pending" if step == 1 else "approved")
    assert applied_count(site) == (1 if step == 2 else 0)


def _approver(user: User) -> service.Approver:
    return service.Approver(user_id=user.id, roles=user.roles, department=user.department)
