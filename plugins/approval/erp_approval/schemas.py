"""Request and response bodies of the approval API (Pydantic v2).

Decision bodies carry only a note: the step, level and role of a decision are never read from input
(``extra="forbid"`` turns an attempt to send them into a 422 instead of silently ignoring it).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from erp_approval.models import ApprovalDecision, ApprovalPolicy, ApprovalPolicyVersion, ApprovalRequest
from erp_approval.service import MAX_NOTE, HistoryEntry, current_step

Status = Literal["pending", "approved", "rejected", "cancelled"]


class ApproveIn(BaseModel):
    """Approve the current step; the note is optional."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=MAX_NOTE)


class RejectIn(BaseModel):
    """Reject the current step; a rejection must say why."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=MAX_NOTE)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a rejection needs a note")
        return value


class StepOut(BaseModel):
    """One step of a request's chain."""

    step: int
    name: str
    role: str
    department_scoped: bool


class DecisionOut(BaseModel):
    """A recorded decision."""

    id: int
    request_id: int
    step: int
    role: str
    decision: Literal["approve", "reject"]
    approver_id: int
    note: str
    decided_at: datetime

    @classmethod
    def of(cls, decision: ApprovalDecision) -> DecisionOut:
        """Build from the model."""
        return cls(
            id=decision.id,
            request_id=decision.request_id,
            step=decision.step,
            role=decision.role,
            decision=decision.decision,  # type: ignore[arg-type]
            approver_id=decision.approver_id,
            note=decision.note,
            decided_at=decision.decided_at,
        )


class RequestOut(BaseModel):
    """An approval request with its chain and where it stands."""

    id: int
    request_type: str
    status: Status
    subject_plugin: str
    subject_entity: str
    subject_id: str
    payload: dict[str, Any]
    amount: Decimal | None
    requested_by: int
    requester_department: str | None
    current_step: int | None
    current_role: str | None
    steps: list[StepOut]
    created_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, request: ApprovalRequest) -> RequestOut:
        """Build from the model."""
        current = current_step(request)
        return cls(
            id=request.id,
            request_type=request.request_type,
            status=request.status,  # type: ignore[arg-type]
            subject_plugin=request.subject_plugin,
            subject_entity=request.subject_entity,
            subject_id=request.subject_id,
            payload=request.payload,
            amount=request.amount,
            requested_by=request.requested_by,
            requester_department=request.requester_department,
            current_step=request.current_step,
            current_role=current.role if current else None,
            steps=[
                StepOut(step=s.step, name=s.name, role=s.role, department_scoped=s.department_scoped)
                for s in request.steps
            ],
            created_at=request.created_at,
            closed_at=request.closed_at,
        )


class RequestPage(BaseModel):
    """One page of requests."""

    items: list[RequestOut]
    total: int
    limit: int
    offset: int


class HistoryStepOut(BaseModel):
    """One step of the history: who decided it, as which role, what, when, and whether it verifies."""

    step: int
    name: str
    role: str
    state: Literal["approved", "rejected", "current", "waiting", "skipped"]
    approver_id: int | None
    decision: Literal["approve", "reject"] | None
    note: str | None
    decided_at: datetime | None
    key_id: str | None
    signature: str | None
    verified: bool | None

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryStepOut:
        """Build from a service history entry."""
        d = entry.decision
        return cls(
            step=entry.step,
            name=entry.name,
            role=entry.role,
            state=entry.state,  # type: ignore[arg-type]
            approver_id=d.approver_id if d else None,
            decision=d.decision if d else None,  # type: ignore[arg-type]
            note=d.note if d else None,
            decided_at=d.decided_at if d else None,
            key_id=d.key_id if d else None,
            signature=d.signature if d else None,
            verified=entry.verified,
        )


class HistoryOut(BaseModel):
    """A request and every step of its chain."""

    request: RequestOut
    steps: list[HistoryStepOut]


class PolicyStepIn(BaseModel):
    """A step of a policy chain as an administrator sets it."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1, max_length=100)
    department_scoped: bool = False
    min_amount: Decimal | None = Field(default=None, ge=0)
    name: str = Field(default="", max_length=100)


class PolicyIn(BaseModel):
    """A new chain for a request type."""

    model_config = ConfigDict(extra="forbid")

    steps: list[PolicyStepIn] = Field(min_length=1, max_length=10)
    allow_self_approval: bool = False


class PolicyOut(BaseModel):
    """A request type's policy in force."""

    request_type: str
    owner_plugin: str
    description: str
    version: int
    source: Literal["default", "config", "api"]
    allow_self_approval: bool
    steps: list[dict[str, Any]]
    changed_by: int | None
    changed_at: datetime

    @classmethod
    def of(cls, policy: ApprovalPolicy, version: ApprovalPolicyVersion) -> PolicyOut:
        """Build from the policy and its version in force."""
        return cls(
            request_type=policy.request_type,
            owner_plugin=policy.owner_plugin,
            description=policy.description,
            version=version.version,
            source=version.source,  # type: ignore[arg-type]
            allow_self_approval=version.allow_self_approval,
            steps=version.steps,
            changed_by=version.changed_by,
            changed_at=version.created_at,
        )
