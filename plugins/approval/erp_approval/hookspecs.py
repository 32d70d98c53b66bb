# mypy: disable-error-code="empty-body"
"""Hookspecs of the approval plugin: how owning plugins declare request types and apply decisions, and
the two events others may subscribe to.

Documented in ``plugins/approval/README.md``; each hook has a test named after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from erp_approval.events import ApprovalResolved, ApprovalStepReady
    from erp_approval.models import ApprovalDecision, ApprovalRequest
    from erp_approval.policies import PolicyDefault
    from kernel.events import EventEnvelope

hookspec = pluggy.HookspecMarker("erp")


# --- declarations (start-up) --------------------------------------------------------------------


@hookspec
def erp_approval_policies() -> Sequence[PolicyDefault]:
    """Declare the approval request types this plugin owns, with their default policies.

    Called once per site, the first time the approval engine needs its policies. Each request type must
    start with ``<plugin>.`` (``production.spk.edit``) and be declared by one plugin only; the declaring
    plugin owns it: only it receives ``on_approval_decided`` for its requests. A site may override the
    chain through the API or ``erp.toml``.

    :returns: ``erp_approval.policies.PolicyDefault`` objects.
    """


# --- in-transaction hooks -----------------------------------------------------------------------


@hookspec
def on_approval_decided(
    session: Session, request: ApprovalRequest, decision: ApprovalDecision | None
) -> None:
    """In-transaction hook: a request of a type this plugin owns was closed; apply (or drop) the change.

    Called only on the owning plugin, synchronously, inside the transaction that records the closing
    decision (the final approval, any rejection) or the requester's cancellation, with that
    transaction's session. ``request.status`` is ``"approved"``, ``"rejected"`` or ``"cancelled"``;
    ``request.payload`` is what was submitted; ``decision`` is the closing decision (None on cancel).
    Raising any exception vetoes the close: the decision is rolled back with everything else (raise a
    ``kernel.errors.ErpError`` such as ``Conflict`` to give the client a clear 4xx). Called exactly once
    per request. The return value is ignored.

    :param session: the caller's transaction; write the approved change through it.
    :param request: the closed ``ApprovalRequest``.
    :param decision: the closing ``ApprovalDecision``, or None when the requester cancelled.
    """


# --- event hooks (after commit, by a worker) ----------------------------------------------------


@hookspec
def on_approval_step_ready(session: Session, event: EventEnvelope[ApprovalStepReady]) -> None:
    """Event hook (after commit, by a worker): a step of an approval request now waits for a decision.

    Emitted when a request is submitted (its first step) and each time an approval moves it to the next
    step. ``event.payload`` is an ``erp_approval.events.ApprovalStepReady``: the request, its subject,
    the step (index, name, role, department when scoped) and ``approver_ids``, exactly the active users
    who may decide that step (never the requester, unless the policy allows it, nor anyone of another
    department for a scoped step). A notifier plugin subscribes to tell them. Called once per
    subscribing plugin in a fresh transaction of its own; raise to have it retried.
    """


@hookspec
def on_approval_resolved(session: Session, event: EventEnvelope[ApprovalResolved]) -> None:
    """Event hook (after commit, by a worker): an approval request was closed.

    The after-commit counterpart of the in-transaction ``on_approval_decided`` (which keeps that name;
    pluggy cannot hold two hookspecs of one name). Emitted on the final approval, on any rejection and
    on cancellation, in the transaction that closes the request, so never for a decision that was
    rolled back or vetoed. ``event.payload`` is an ``erp_approval.events.ApprovalResolved`` (outcome
    ``approved``/``rejected``/``cancelled``, request, subject, ``decided_by``, step, note). Any plugin
    may subscribe; called once per subscribing plugin in a fresh transaction; raise to have it retried.
    """
