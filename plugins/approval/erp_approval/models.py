"""The approval plugin's tables (all prefixed ``approval_``).

A policy has versions; each version is an immutable chain of steps. A request keeps a snapshot of the
chain that applied when it was submitted (``approval_request_step``), so a policy change never alters a
pending request. Decisions are append-only and signed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import Base, Money

REQUEST_STATUSES = ("pending", "approved", "rejected", "cancelled")
DECISIONS = ("approve", "reject")


class ApprovalPolicy(Base):
    """The policy of one request type (e.g. ``production.spk.edit``), owned by the plugin declaring it."""

    __tablename__ = "approval_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_type: Mapped[str] = mapped_column(String(100), unique=True)
    owner_plugin: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(300), default="")
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[ApprovalPolicyVersion]] = relationship(
        back_populates="policy", order_by="ApprovalPolicyVersion.version"
    )


class ApprovalPolicyVersion(Base):
    """One immutable version of a policy: its chain of steps and whether requesters may approve.

    ``steps`` is a list of ``{"name", "role", "department_scoped", "min_amount"}``; ``role`` may hold
    ``{department}``, replaced by the requester's department at submission. ``source`` says where the
    version came from: ``default`` (the owning plugin), ``config`` (``erp.toml``) or ``api``.
    """

    __tablename__ = "approval_policy_version"
    __table_args__ = (UniqueConstraint("policy_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("approval_policy.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    allow_self_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    policy: Mapped[ApprovalPolicy] = relationship(back_populates="versions")


class ApprovalRequest(Base):
    """A request for approval of a change to another plugin's record (the subject)."""

    __tablename__ = "approval_request"
    __table_args__ = (
        Index("ix_approval_request_status_type", "status", "request_type"),
        Index("ix_approval_request_subject", "subject_plugin", "subject_entity", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_type: Mapped[str] = mapped_column(String(100))
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("approval_policy_version.id"))
    owner_plugin: Mapped[str] = mapped_column(String(50))
    subject_plugin: Mapped[str] = mapped_column(String(50))
    subject_entity: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_hash: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal | None] = mapped_column(Money, default=None)
    requested_by: Mapped[int] = mapped_column(Integer, index=True)
    requester_department: Mapped[str | None] = mapped_column(String(50), default=None)
    allow_self_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    current_step: Mapped[int | None] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    steps: Mapped[list[ApprovalRequestStep]] = relationship(
        back_populates="request", order_by="ApprovalRequestStep.step"
    )
    decisions: Mapped[list[ApprovalDecision]] = relationship(
        back_populates="request", order_by="ApprovalDecision.step"
    )


class ApprovalRequestStep(Base):
    """One step of a request's chain, as snapshotted at submission (concrete role, never a template)."""

    __tablename__ = "approval_request_step"
    __table_args__ = (
        UniqueConstraint("request_id", "step"),
        Index("ix_approval_request_step_role", "role", "step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_request.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(100))
    department_scoped: Mapped[bool] = mapped_column(Boolean, default=False)

    request: Mapped[ApprovalRequest] = relationship(back_populates="steps")


class ApprovalDecision(Base):
    """A signed decision on one step of a request; rows are only ever inserted.

    The unique (request, step) pair makes a second decision on the same step impossible even if two
    transactions got past the row lock's checks.
    """

    __tablename__ = "approval_decision"
    __table_args__ = (UniqueConstraint("request_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_request.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(10))
    approver_id: Mapped[int] = mapped_column(Integer, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column()
    payload_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(128))

    request: Mapped[ApprovalRequest] = relationship(back_populates="decisions")
