"""The approval engine: submit, decide, cancel, and the queries behind the pending list and history.

Every function runs inside the caller's transaction and never commits. The step and role of a decision
are always derived from the request's stored chain and the caller's identity; no argument chooses them.
Events (``approval_step_ready``, ``approval_resolved``) go to the outbox in that same transaction, so
they exist only if it commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from erp_approval.events import ApprovalResolved, ApprovalStepReady, ApprovalSubject
from erp_approval.models import DECISIONS, ApprovalDecision, ApprovalRequest, ApprovalRequestStep
from erp_approval.policies import chain_for, effective_policy
from erp_approval.signing import SigningKey, canonical_json, payload_hash, sign, verify
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kernel.events import emit
from kernel.site import Site, site_of

MAX_NOTE = 2000


@dataclass(frozen=True)
class Approver:
    """Who is deciding: the caller's user id, roles and department (from the authenticated principal)."""

    user_id: int
    roles: tuple[str, ...]
    department: str | None


def signing_key(site: Site) -> SigningKey:
    """The site's decision-signing key (derived once per site)."""
    key = site.services.get("approval.signing_key")
    if not isinstance(key, SigningKey):
        key = SigningKey.from_secret(site.settings.secret_key)
        site.services["approval.signing_key"] = key
    return key


def _json_payload(payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValidationFailed(
            "payload must be a JSON object", errors=[{"field": "payload", "message": "object"}]
        )
    try:
        normalised: dict[str, Any] = json.loads(canonical_json(payload))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            f"payload is not JSON-serialisable: {exc}", errors=[{"field": "payload", "message": str(exc)}]
        ) from None
    return normalised


def submit(
    session: Session,
    *,
    request_type: str,
    subject_plugin: str,
    subject_entity: str,
    subject_id: int | str,
    payload: dict[str, Any],
    requested_by: int,
    requester_department: str | None = None,
    amount: Decimal | None = None,
) -> ApprovalRequest:
    """Open an approval request with the chain its type's policy gives now (snapshotted on the request).

    Raises NotFound for a type no enabled plugin declares, ValidationFailed for a bad payload or amount
    or a department-routed type without ``requester_department``, Conflict when the subject already has
    a pending request of this type.
    """
    if amount is not None:
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
            raise ValidationFailed(
                "amount must be a non-negative Decimal", errors=[{"field": "amount", "message": "invalid"}]
            )
        amount = amount.quantize(Decimal("0.01"))
    body = _json_payload(payload)
    subject_id = str(subject_id)
    policy, version = effective_policy(session, request_type=request_type)
    chain = chain_for(
        session, version, request_type=request_type, amount=amount, department=requester_department
    )
    if _pending_for_subject(session, request_type, subject_plugin, subject_entity, subject_id):
        raise Conflict(
            f"{subject_plugin}.{subject_entity} {subject_id} already has a pending {request_type!r} request"
        )
    request = ApprovalRequest(
        request_type=request_type,
        policy_version_id=version.id,
        owner_plugin=policy.owner_plugin,
        subject_plugin=subject_plugin,
        subject_entity=subject_entity,
        subject_id=subject_id,
        payload=body,
        amount=amount,
        requested_by=requested_by,
        requester_department=requester_department,
        allow_self_approval=version.allow_self_approval,
        status="pending",
        current_step=1,
    )
    request.payload_hash = payload_hash(
        request_type=request_type,
        subject_plugin=subject_plugin,
        subject_entity=subject_entity,
        subject_id=subject_id,
        payload=body,
        amount=amount,
        requested_by=requested_by,
    )
    session.add(request)
    session.flush()
    session.add_all(
        ApprovalRequestStep(request_id=request.id, step=i, **step) for i, step in enumerate(chain, start=1)
    )
    session.flush()
    record_change(
        session,
        entity_type="approval.request",
        entity_id=request.id,
        action="submit",
        new={
            "request_type": request_type,
            "subject": [subject_plugin, subject_entity, subject_id],
            "steps": [s["role"] for s in chain],
            "requested_by": requested_by,
        },
    )
    session.expire(request, ["steps"])  # the steps were added by id: load them as stored
    _announce_current_step(session, request)
    return request


def _pending_for_subject(
    session: Session, request_type: str, subject_plugin: str, subject_entity: str, subject_id: str
) -> bool:
    return (
        session.scalar(
            select(ApprovalRequest.id).where(
                ApprovalRequest.request_type == request_type,
                ApprovalRequest.subject_plugin == subject_plugin,
                ApprovalRequest.subject_entity == subject_entity,
                ApprovalRequest.subject_id == subject_id,
                ApprovalRequest.status == "pending",
            )
        )
        is not None
    )


def _lock_request(session: Session, request_id: int) -> ApprovalRequest:
    request = session.scalar(
        select(ApprovalRequest)
        .where(ApprovalRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if request is None:
        raise NotFound(f"approval request {request_id} does not exist")
    # Collections loaded earlier in this session may predate the lock; read them under it.
    session.expire(request, ["steps", "decisions"])
    return request


def _may_hold(step: ApprovalRequestStep, request: ApprovalRequest, approver: Approver) -> bool:
    if step.role not in approver.roles:
        return False
    return not step.department_scoped or approver.department == request.requester_department


def _authorise_step(request: ApprovalRequest, approver: Approver) -> ApprovalRequestStep:
    """The current step if ``approver`` may decide it; otherwise the precise 403 or 409."""
    if request.status != "pending":
        raise Conflict(f"approval request {request.id} is already {request.status}")
    current = next(s for s in request.steps if s.step == request.current_step)
    if not _may_hold(current, request, approver):
        held = [s for s in request.steps if s.step != current.step and _may_hold(s, request, approver)]
        if held and held[0].step < current.step:
            raise Conflict(
                f"step {held[0].step} ({held[0].name}) of approval request {request.id} was already decided; "
                f"it now waits for step {current.step} ({current.role})"
            )
        if held:
            raise Conflict(
                f"approval request {request.id} waits for step {current.step} ({current.role}); "
                f"your step {held[0].step} is not current yet"
            )
        if current.role in approver.roles:
            raise PermissionDenied(
                f"step {current.step} of approval request {request.id} is for the "
                f"{request.requester_department} department"
            )
        raise PermissionDenied(
            f"step {current.step} of approval request {request.id} needs the role {current.role!r}"
        )
    if approver.user_id == request.requested_by and not request.allow_self_approval:
        raise PermissionDenied("you cannot approve a request you submitted")
    if any(d.approver_id == approver.user_id for d in request.decisions):
        raise PermissionDenied(f"you already decided a step of approval request {request.id}")
    return current


def decide(
    session: Session,
    *,
    request_id: int,
    approver_id: int,
    approver_roles: Sequence[str],
    approver_department: str | None,
    decision: str,
    note: str = "",
) -> ApprovalDecision:
    """Approve or reject the current step of a request as the caller, signing the decision.

    The request row is locked, so of two approvers deciding the same step exactly one wins; the other
    gets Conflict. On the final approval or any rejection the owning plugin's ``on_approval_decided``
    runs in this transaction; if it raises, nothing is recorded.

    Raises NotFound, ValidationFailed (unknown decision, reject without a note, note too long),
    PermissionDenied (no matching role or department, own request, already decided another step),
    Conflict (request closed, step already decided or not current yet).
    """
    if decision not in DECISIONS:
        raise ValidationFailed(
            f"decision must be one of {', '.join(DECISIONS)}",
            errors=[{"field": "decision", "message": "invalid"}],
        )
    note = (note or "").strip()
    if decision == "reject" and not note:
        raise ValidationFailed("a rejection needs a note", errors=[{"field": "note", "message": "required"}])
    if len(note) > MAX_NOTE:
        raise ValidationFailed(
            f"note is longer than {MAX_NOTE} characters", errors=[{"field": "note", "message": "too long"}]
        )
    site = site_of(session)
    approver = Approver(user_id=approver_id, roles=tuple(approver_roles), department=approver_department)
    request = _lock_request(session, request_id)
    step = _authorise_step(request, approver)

    now = utcnow()
    record = ApprovalDecision(
        request_id=request.id,
        step=step.step,
        role=step.role,
        decision=decision,
        approver_id=approver.user_id,
        note=note,
        decided_at=now,
        payload_hash=request.payload_hash,
    )
    sign(signing_key(site), record)
    request.decisions.append(record)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            f"step {step.step} of approval request {request.id} was decided concurrently"
        ) from None

    record_change(
        session,
        entity_type="approval.request",
        entity_id=request.id,
        action=decision,
        old={"status": "pending", "step": step.step},
        new={
            "step": step.step,
            "role": step.role,
            "decision": decision,
            "note": note,
            "signature": record.signature,
        },
    )
    last = step.step == max(s.step for s in request.steps)
    if decision == "reject" or last:
        request.status = "rejected" if decision == "reject" else "approved"
        request.current_step = None
        request.closed_at = now
        session.flush()
        _tell_owner(site, session, request, record)
        _announce_resolved(session, request, decided_by=approver.user_id, step=step.step, decision=record)
    else:
        request.current_step = step.step + 1
        session.flush()
        _announce_current_step(session, request)
    return record


def cancel(session: Session, *, request_id: int, user_id: int) -> ApprovalRequest:
    """Withdraw a pending request; only its requester may. The owning plugin is told in-transaction.

    Raises NotFound, PermissionDenied (not the requester), Conflict (no longer pending).
    """
    request = _lock_request(session, request_id)
    if request.requested_by != user_id:
        raise PermissionDenied("only the requester can cancel an approval request")
    if request.status != "pending":
        raise Conflict(f"approval request {request.id} is already {request.status}")
    record_change(
        session,
        entity_type="approval.request",
        entity_id=request.id,
        action="cancel",
        old={"status": "pending", "step": request.current_step},
        new={"status": "cancelled"},
    )
    waiting = request.current_step
    request.status = "cancelled"
    request.current_step = None
    request.closed_at = utcnow()
    session.flush()
    _tell_owner(site_of(session), session, request, None)
    _announce_resolved(session, request, decided_by=user_id, step=waiting, decision=None)
    return request


def _tell_owner(
    site: Site, session: Session, request: ApprovalRequest, decision: ApprovalDecision | None
) -> None:
    # Only the owning plugin applies the change, so its implementation is called directly rather than
    # broadcasting to every plugin implementing the hook.
    impls = [
        impl
        for impl in site.registry.pm.hook.on_approval_decided.get_hookimpls()
        if impl.plugin_name == request.owner_plugin
    ]
    if not impls:
        raise Conflict(
            f"plugin {request.owner_plugin!r}, which owns {request.request_type!r} requests, is not enabled; "
            "the decision cannot be applied"
        )
    arguments = {"session": session, "request": request, "decision": decision}
    for impl in impls:
        impl.function(**{name: arguments[name] for name in impl.argnames})


def _aggregate(request: ApprovalRequest) -> str:
    return f"approval_request:{request.id}"


def _subject(request: ApprovalRequest) -> ApprovalSubject:
    return ApprovalSubject(
        plugin=request.subject_plugin, entity=request.subject_entity, id=request.subject_id
    )


def _announce_current_step(session: Session, request: ApprovalRequest) -> None:
    """Emit ``approval_step_ready`` for the request's current step, naming only its approvers."""
    step = current_step(request)
    assert step is not None, "only a pending request has a step to announce"
    emit(
        session,
        "approval_step_ready",
        ApprovalStepReady(
            request_id=request.id,
            request_type=request.request_type,
            subject=_subject(request),
            step=step.step,
            step_name=step.name,
            role=step.role,
            department=request.requester_department if step.department_scoped else None,
            approver_ids=current_approvers(session, request=request),
            requested_by=request.requested_by,
        ),
        aggregate=_aggregate(request),
    )


def _announce_resolved(
    session: Session,
    request: ApprovalRequest,
    *,
    decided_by: int,
    step: int | None,
    decision: ApprovalDecision | None,
) -> None:
    """Emit ``approval_resolved`` for a request just closed (after the owner applied it in-transaction)."""
    emit(
        session,
        "approval_resolved",
        ApprovalResolved(
            request_id=request.id,
            request_type=request.request_type,
            subject=_subject(request),
            outcome=request.status,  # type: ignore[arg-type]  # approved | rejected | cancelled here
            decided_by=decided_by,
            step=step,
            note=decision.note if decision is not None else "",
            decision_id=decision.id if decision is not None else None,
            requested_by=request.requested_by,
        ),
        aggregate=_aggregate(request),
    )


# --- queries ------------------------------------------------------------------------------------


def get_request(session: Session, *, request_id: int) -> ApprovalRequest:
    """One request (NotFound when missing)."""
    request = session.get(ApprovalRequest, request_id)
    if request is None:
        raise NotFound(f"approval request {request_id} does not exist")
    return request


def decidable_by(approver: Approver) -> Any:
    """SQL condition: the request's current step is one ``approver`` may decide right now."""
    current = ApprovalRequestStep
    return and_(
        ApprovalRequest.status == "pending",
        exists().where(
            current.request_id == ApprovalRequest.id,
            current.step == ApprovalRequest.current_step,
            current.role.in_(approver.roles) if approver.roles else false(),
            or_(
                current.department_scoped.is_(False),
                ApprovalRequest.requester_department == approver.department
                if approver.department
                else false(),
            ),
        ),
        or_(ApprovalRequest.allow_self_approval.is_(True), ApprovalRequest.requested_by != approver.user_id),
        ~exists().where(
            ApprovalDecision.request_id == ApprovalRequest.id,
            ApprovalDecision.approver_id == approver.user_id,
        ),
    )


def visible_to(approver: Approver, *, see_all: bool = False) -> Any:
    """SQL condition: requests the caller submitted, decided, or holds a role for (or all)."""
    if see_all:
        return true()
    step = ApprovalRequestStep
    return or_(
        ApprovalRequest.requested_by == approver.user_id,
        exists().where(
            ApprovalDecision.request_id == ApprovalRequest.id,
            ApprovalDecision.approver_id == approver.user_id,
        ),
        exists().where(
            step.request_id == ApprovalRequest.id,
            step.role.in_(approver.roles) if approver.roles else false(),
            or_(
                step.department_scoped.is_(False),
                ApprovalRequest.requester_department == approver.department
                if approver.department
                else false(),
            ),
        ),
    )


def _page(
    session: Session, query: Select[ApprovalRequest], *, limit: int, offset: int
) -> tuple[list[ApprovalRequest], int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(limit).offset(offset)))
    return items, total


def list_pending(
    session: Session,
    *,
    approver: Approver,
    request_type: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ApprovalRequest], int]:
    """Requests whose current step ``approver`` may decide, oldest first, and their total count."""
    query = select(ApprovalRequest).where(decidable_by(approver))
    if request_type:
        query = query.where(ApprovalRequest.request_type == request_type)
    return _page(
        session, query.order_by(ApprovalRequest.created_at, ApprovalRequest.id), limit=limit, offset=offset
    )


def list_requests(
    session: Session,
    *,
    approver: Approver,
    see_all: bool = False,
    request_type: str | None = None,
    status: str | None = None,
    mine: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ApprovalRequest], int]:
    """Requests the caller may see (``mine``: only those they submitted), newest first, and the total."""
    query = select(ApprovalRequest).where(visible_to(approver, see_all=see_all))
    if mine:
        query = query.where(ApprovalRequest.requested_by == approver.user_id)
    if request_type:
        query = query.where(ApprovalRequest.request_type == request_type)
    if status:
        query = query.where(ApprovalRequest.status == status)
    return _page(
        session,
        query.order_by(ApprovalRequest.created_at.desc(), ApprovalRequest.id.desc()),
        limit=limit,
        offset=offset,
    )


def can_see(
    session: Session, *, request_id: int, approver: Approver, see_all: bool = False
) -> ApprovalRequest:
    """The request if the caller may see it; NotFound otherwise (its existence is not revealed)."""
    request = session.scalar(
        select(ApprovalRequest).where(ApprovalRequest.id == request_id, visible_to(approver, see_all=see_all))
    )
    if request is None:
        raise NotFound(f"approval request {request_id} does not exist")
    return request


@dataclass(frozen=True)
class HistoryEntry:
    """One step of a request's chain with its decision, if any, and whether the signature verifies."""

    step: int
    name: str
    role: str
    department_scoped: bool
    state: str  # approved | rejected | current | waiting | skipped
    decision: ApprovalDecision | None
    verified: bool | None


def history(session: Session, *, request: ApprovalRequest) -> list[HistoryEntry]:
    """Every step of the request in order, each with its signed decision and the verification result."""
    key = signing_key(site_of(session))
    decisions = {d.step: d for d in request.decisions}
    entries = []
    for step in request.steps:
        decision = decisions.get(step.step)
        if decision is not None:
            state = "approved" if decision.decision == "approve" else "rejected"
        elif request.status == "pending":
            state = "current" if step.step == request.current_step else "waiting"
        else:
            state = "skipped"
        entries.append(
            HistoryEntry(
                step=step.step,
                name=step.name,
                role=step.role,
                department_scoped=step.department_scoped,
                state=state,
                decision=decision,
                verified=None if decision is None else verify(key, decision, request),
            )
        )
    return entries


def current_step(request: ApprovalRequest) -> ApprovalRequestStep | None:
    """The step awaiting a decision (None once the request is closed)."""
    return next((s for s in request.steps if s.step == request.current_step), None)


def current_approvers(session: Session, *, request: ApprovalRequest) -> list[int]:
    """Ids of the active users who may decide the request's current step now (empty once closed).

    The same rule as ``decidable_by``, seen from the request: they hold the step's role, belong to the
    request's department when the step is scoped, are not the requester (unless allowed) and have not
    decided another step of it. These, and only these, are the people to notify.
    """
    from kernel.auth.models import User, UserRole

    step = current_step(request)
    if step is None:
        return []
    query = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.is_active.is_(True), UserRole.role_name == step.role)
        .where(
            ~User.id.in_(
                select(ApprovalDecision.approver_id).where(ApprovalDecision.request_id == request.id)
            )
        )
    )
    if step.department_scoped:
        query = query.where(User.department == request.requester_department)
    if not request.allow_self_approval:
        query = query.where(User.id != request.requested_by)
    return list(session.scalars(query.distinct().order_by(User.id)))
