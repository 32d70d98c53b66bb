"""The approval API, mounted by the kernel under ``/api/v1/approvals``.

Routes parse, check the permission, call one service function and shape the response. The step and role
of a decision come from the request's chain and the signed-in caller; the body only carries a note.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from erp_approval import permissions as perm
from erp_approval import policies, service
from erp_approval.models import REQUEST_STATUSES, ApprovalRequest
from erp_approval.schemas import (
    ApproveIn,
    HistoryOut,
    HistoryStepOut,
    PolicyIn,
    PolicyOut,
    RejectIn,
    RequestOut,
)
from kernel.deps import SessionDep
from kernel.errors import ValidationFailed
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(tags=["approval"])
# Writes take the permission guard before IdempotencyDep: keys are scoped to the signed-in user.

RequestType = Annotated[str | None, Query(max_length=100, description="Only requests of this type.")]


def approver_of(principal: Principal) -> service.Approver:
    """The service's view of the signed-in caller."""
    return service.Approver(user_id=principal.user_id, roles=principal.roles, department=principal.department)


def _page(items: list[RequestOut], total: int, page: PageDep) -> Page[RequestOut]:
    return Page[RequestOut](items=items, total=total, limit=page.limit, offset=page.offset)


# Fixed paths first: "/pending" and "/policies" must not be taken for a request id.


@router.get("/pending", response_model=Page[RequestOut])
def list_pending(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.VIEW))],
    request_type: RequestType = None,
) -> Page[RequestOut]:
    """Requests whose current step the caller may decide now, oldest first (the source of truth for
    notifications)."""
    items, total = service.list_pending(
        session,
        approver=approver_of(principal),
        request_type=request_type,
        limit=page.limit,
        offset=page.offset,
    )
    return _page([RequestOut.of(r) for r in items], total, page)


@router.get("/policies", response_model=list[PolicyOut])
def list_policies(
    session: SessionDep, principal: Annotated[Principal, Depends(require(perm.POLICY_VIEW))]
) -> list[PolicyOut]:
    """Every request type's approval chain in force, with its version and where it comes from."""
    return [PolicyOut.of(p, v) for p, v in policies.list_policies(session)]


@router.put("/policies/{request_type}", response_model=PolicyOut)
def update_policy(
    request_type: str,
    body: PolicyIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.POLICY_MANAGE))],
) -> PolicyOut:
    """Set a new chain for a request type (a new version; pending requests keep the chain they have)."""
    policy, version = policies.update_policy(
        session,
        request_type=request_type,
        steps=[s.model_dump() for s in body.steps],
        allow_self_approval=body.allow_self_approval,
        changed_by=principal.user_id,
    )
    return PolicyOut.of(policy, version)


@router.get("", response_model=Page[RequestOut])
def list_requests(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.VIEW))],
    request_type: RequestType = None,
    status: Annotated[str | None, Query(description="pending, approved, rejected or cancelled.")] = None,
    mine: Annotated[bool, Query(description="Only requests I submitted.")] = False,
) -> Page[RequestOut]:
    """Requests I submitted, decided or hold a role for (every request with ``approval.request.view_all``),
    newest first."""
    if status is not None and status not in REQUEST_STATUSES:
        raise ValidationFailed(
            f"status must be one of {', '.join(REQUEST_STATUSES)}",
            errors=[{"field": "status", "in": "query", "message": "unknown status"}],
        )
    items, total = service.list_requests(
        session,
        approver=approver_of(principal),
        see_all=principal.has(perm.VIEW_ALL),
        request_type=request_type,
        status=status,
        mine=mine,
        limit=page.limit,
        offset=page.offset,
    )
    return _page([RequestOut.of(r) for r in items], total, page)


def _visible(session: Session, request_id: int, principal: Principal) -> ApprovalRequest:
    return service.can_see(
        session, request_id=request_id, approver=approver_of(principal), see_all=principal.has(perm.VIEW_ALL)
    )


@router.get("/{request_id}", response_model=RequestOut)
def get_request(
    request_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.VIEW))]
) -> RequestOut:
    """One request with its chain and current step (404 when it is not visible to the caller)."""
    return RequestOut.of(_visible(session, request_id, principal))


@router.get("/{request_id}/history", response_model=HistoryOut)
def get_history(
    request_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.VIEW))]
) -> HistoryOut:
    """Every step: who decided it, as which role, what, the note, when, the signature and whether it
    verifies now."""
    request = _visible(session, request_id, principal)
    entries = service.history(session, request=request)
    return HistoryOut(request=RequestOut.of(request), steps=[HistoryStepOut.of(e) for e in entries])


def _decide(session: Session, request_id: int, principal: Principal, decision: str, note: str) -> RequestOut:
    service.decide(
        session,
        request_id=request_id,
        approver_id=principal.user_id,
        approver_roles=principal.roles,
        approver_department=principal.department,
        decision=decision,
        note=note,
    )
    return RequestOut.of(service.get_request(session, request_id=request_id))


@router.post("/{request_id}/approve", response_model=RequestOut)
def approve(
    request_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.DECIDE))],
    idem: IdempotencyDep,
    body: ApproveIn | None = None,
) -> RequestOut:
    """Approve the current step as the caller (403 without its role or department, 409 when the step
    was already decided or is not current). Safe to retry with an Idempotency-Key."""
    result = _decide(session, request_id, principal, "approve", body.note if body else "")
    return idem.remember(result)


@router.post("/{request_id}/reject", response_model=RequestOut)
def reject(
    request_id: int,
    body: RejectIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.DECIDE))],
    idem: IdempotencyDep,
) -> RequestOut:
    """Reject the current step as the caller; a note is required (422 without). Safe to retry with an
    Idempotency-Key."""
    return idem.remember(_decide(session, request_id, principal, "reject", body.note))


@router.post("/{request_id}/cancel", response_model=RequestOut)
def cancel(
    request_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.CANCEL))],
    idem: IdempotencyDep,
) -> RequestOut:
    """Withdraw a pending request (its requester only: 403 for anyone else, 409 once it is closed)."""
    _visible(session, request_id, principal)  # 404 for a request the caller cannot even see
    request = service.cancel(session, request_id=request_id, user_id=principal.user_id)
    return idem.remember(RequestOut.of(request))
