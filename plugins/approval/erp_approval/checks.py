"""Consistency checks for ``erp check``: every decision's signature verifies, and every request's state
agrees with its signed decisions."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from erp_approval.models import ApprovalDecision, ApprovalRequest
from erp_approval.service import signing_key
from erp_approval.signing import verify
from kernel.site import site_of

BATCH = 500


def _requests(session: Session) -> Iterator[ApprovalRequest]:
    last_id = 0
    while True:
        batch = list(
            session.scalars(
                select(ApprovalRequest)
                .where(ApprovalRequest.id > last_id)
                .order_by(ApprovalRequest.id)
                .limit(BATCH)
                .options(selectinload(ApprovalRequest.decisions), selectinload(ApprovalRequest.steps))
            )
        )
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def decision_signatures_verify(session: Session) -> Iterator[str]:
    """Every decision's signature is valid and covers its request's payload as stored now."""
    key = signing_key(site_of(session))
    for request in _requests(session):
        for decision in request.decisions:
            if not verify(key, decision, request):
                yield (
                    f"approval request {request.id} step {decision.step}: the signature of decision "
                    f"{decision.id} does not verify (the row or its request was altered, or signed with "
                    f"key {decision.key_id}, not {key.key_id})"
                )
    orphans = session.scalars(
        select(ApprovalDecision.id).where(~ApprovalDecision.request_id.in_(select(ApprovalRequest.id)))
    )
    for decision_id in orphans:
        yield f"approval decision {decision_id} belongs to no request"


def request_states_match_decisions(session: Session) -> Iterator[str]:
    """A request's status and current step follow from its decisions (catches edited states)."""
    for request in _requests(session):
        steps = [s.step for s in request.steps]
        decided = {d.step: d.decision for d in request.decisions}
        rejected = [step for step, d in decided.items() if d == "reject"]
        approved_all = bool(steps) and all(decided.get(s) == "approve" for s in steps)
        if request.status == "approved" and not approved_all:
            yield f"approval request {request.id} is approved but not every step has a signed approval"
        elif request.status == "rejected" and not rejected:
            yield f"approval request {request.id} is rejected but has no signed rejection"
        elif request.status in ("pending", "cancelled") and (rejected or approved_all):
            yield f"approval request {request.id} is {request.status} although its decisions closed it"
        elif request.status == "pending":
            expected = next((s for s in steps if s not in decided), None)
            if request.current_step != expected:
                yield (
                    f"approval request {request.id} waits at step {request.current_step}, "
                    f"but its decisions put it at step {expected}"
                )
