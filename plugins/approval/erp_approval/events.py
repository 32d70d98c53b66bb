"""The events the approval plugin emits (after commit, through the kernel's outbox), with their payloads.

- ``approval_step_ready``: a step of a request is now waiting for a decision (on submission, and each
  time an approval moves the request to its next step). Names exactly who may decide that step, so a
  notifier plugin can tell them.
- ``approval_resolved``: a request was closed: finally approved, rejected at any step, or cancelled by
  its requester. The after-commit twin of the in-transaction hook ``on_approval_decided`` (see the
  README for why the names differ).

Both carry ``aggregate="approval_request:<id>"``, so a subscriber sees a request's events in order.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from kernel.events import Event


class ApprovalSubject(BaseModel):
    """The record the request is about: the owning plugin's entity and id (ids are strings)."""

    plugin: str
    entity: str
    id: str


class ApprovalStepReady(BaseModel):
    """Payload of ``approval_step_ready`` (version 1)."""

    request_id: int
    request_type: str
    subject: ApprovalSubject
    step: int
    step_name: str
    role: str
    department: str | None
    """The requester's department when the step is department-scoped; None otherwise."""
    approver_ids: list[int]
    """The active users who may decide this step now (``service.current_approvers``), and no one else."""
    requested_by: int


class ApprovalResolved(BaseModel):
    """Payload of ``approval_resolved`` (version 1)."""

    request_id: int
    request_type: str
    subject: ApprovalSubject
    outcome: Literal["approved", "rejected", "cancelled"]
    decided_by: int
    """The approver who closed the request; the requester on cancellation."""
    step: int | None
    """The step decided last (approved or rejected); on cancellation the step that was waiting."""
    note: str
    """The closing decision's note ('' on cancellation)."""
    decision_id: int | None
    """The closing ``approval_decision`` row; None on cancellation."""
    requested_by: int


APPROVAL_STEP_READY = Event(
    name="approval_step_ready",
    version=1,
    payload=ApprovalStepReady,
    description="A step of an approval request waits for a decision by the listed approvers.",
)
APPROVAL_RESOLVED = Event(
    name="approval_resolved",
    version=1,
    payload=ApprovalResolved,
    description="An approval request was finally approved, rejected or cancelled.",
)
