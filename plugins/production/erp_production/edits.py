"""SPK edits through approval: quantity (target), deadline, notes or article; applied only when approved.

Rules (DOMAIN.md), checked when the edit is requested and again when it is applied: a completed SPK
cannot be edited; the target cannot drop below what is already produced; a deadline must be in the
future; the article cannot change once production started. Old and new values, the requester, the
approver and the time applied are kept on the edit row and in the audit trail.
"""

from __future__ import annotations

from typing import Any

from erp_approval import service as approval
from erp_approval.models import ApprovalDecision, ApprovalRequest
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_production.daily import site_today
from erp_production.models import Spk, SpkEdit
from erp_production.schemas import SpkEditIn
from erp_production.spk import check_department, get_spk, totals
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, ValidationFailed
from kernel.rbac.roles import ROLES

EDIT_TYPE = "production.spk.edit"
EDIT_TYPE_NO_SPV = "production.spk.edit_manager"
FIELDS = ("target", "deadline", "notes", "product_id")


def edit_request_type(department: str) -> str:
    """The approval request type for an SPK edit of a department (SPV step where an SPV role exists)."""
    return EDIT_TYPE if f"SPV {department}" in ROLES else EDIT_TYPE_NO_SPV


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def check_rules(session: Session, *, spk: Spk, changes: dict[str, Any]) -> None:
    """Raise the clear 409/422 of the first DOMAIN.md rule the edit breaks."""
    if spk.state == "completed":
        raise Conflict(f"{spk.number} is completed; a completed SPK cannot be edited")
    if spk.state == "cancelled":
        raise Conflict(f"{spk.number} is cancelled; it cannot be edited")
    if "product_id" in changes and spk.state != "not_started":
        raise Conflict(f"{spk.number} has started; the article cannot change once production started")
    if "target" in changes:
        produced = totals(session, spk_id=spk.id).produced
        if changes["target"] < produced:
            raise ValidationFailed(
                f"the quantity cannot drop below what is already produced ({produced})",
                errors=[{"field": "target", "message": f"must be at least {produced}"}],
            )
    if "deadline" in changes and changes["deadline"] <= site_today(session):
        raise ValidationFailed(
            "the deadline must be in the future",
            errors=[{"field": "deadline", "message": "must be after today"}],
        )


def request_edit(
    session: Session,
    *,
    spk_id: int,
    data: SpkEditIn,
    user_id: int,
    username: str,
    department: str | None = None,
) -> SpkEdit:
    """Validate an edit and submit it for approval (SPV of the SPK's department, then Manager)."""
    spk = get_spk(session, spk_id=spk_id, lock=True)
    check_department(spk, department)
    changes = {
        f: getattr(data, f) for f in FIELDS if f in data.model_fields_set and getattr(data, f) is not None
    }
    changes = {f: v for f, v in changes.items() if v != getattr(spk, f)}
    if not changes:
        raise ValidationFailed("the edit changes nothing", errors=[{"field": "body", "message": "no change"}])
    check_rules(session, spk=spk, changes=changes)
    diff = {f: {"old": _as_text(getattr(spk, f)), "new": _as_text(v)} for f, v in changes.items()}
    request = approval.submit(
        session,
        request_type=edit_request_type(spk.department),
        subject_plugin="production",
        subject_entity="spk",
        subject_id=spk.id,
        payload={"changes": diff, "reason": data.reason},
        requested_by=user_id,
        requester_department=spk.department,
    )
    edit = SpkEdit(
        spk_id=spk.id,
        changes=diff,
        reason=data.reason,
        state="pending",
        approval_request_id=request.id,
        requested_by=username,
        requested_at=utcnow(),
    )
    session.add(edit)
    session.flush()
    record_change(
        session,
        entity_type="production.spk_edit",
        entity_id=edit.id,
        action="request",
        new={"spk": spk.number, "changes": diff, "approval_request_id": request.id},
    )
    return edit


def _parse(field: str, text: str | None) -> Any:
    from datetime import date
    from decimal import Decimal

    if text is None:
        return None
    if field == "target":
        return Decimal(text)
    if field == "deadline":
        return date.fromisoformat(text)
    if field == "product_id":
        return int(text)
    return text


def decide_edit(
    session: Session, *, request: ApprovalRequest, decision: ApprovalDecision | None
) -> SpkEdit | None:
    """``on_approval_decided`` for edits: apply an approved edit (rules re-checked), or close it."""
    edit = session.scalar(select(SpkEdit).where(SpkEdit.approval_request_id == request.id).with_for_update())
    if edit is None:
        return None
    edit.decided_by = decision.approver_id if decision is not None else None
    if request.status != "approved":
        edit.state = request.status
        session.flush()
        return edit
    spk = get_spk(session, spk_id=edit.spk_id, lock=True)
    changes = {f: _parse(f, v["new"]) for f, v in edit.changes.items()}
    check_rules(session, spk=spk, changes=changes)
    for field, value in changes.items():
        setattr(spk, field, value)
    edit.state, edit.applied_at = "applied", utcnow()
    session.flush()
    record_change(
        session,
        entity_type="production.spk",
        entity_id=spk.id,
        action="edit",
        old={f: v["old"] for f, v in edit.changes.items()},
        new={
            **{f: v["new"] for f, v in edit.changes.items()},
            "requested_by": edit.requested_by,
            "approved_by": edit.decided_by,
            "edit_id": edit.id,
        },
    )
    return edit


def list_edits(session: Session, *, spk_id: int) -> list[SpkEdit]:
    """An SPK's edits, oldest first."""
    return list(session.scalars(select(SpkEdit).where(SpkEdit.spk_id == spk_id).order_by(SpkEdit.id)))
