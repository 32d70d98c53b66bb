"""Helpers for the approval plugin's tests: callers, and an owning plugin that applies approved changes.

The owning plugin is a real hook implementation registered on the site's plugin manager under the name
``testowner``: it declares two request types and applies an approved change by writing a row (an
``example_note``) through the session it is given, so atomicity with the decision is observable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from erp_approval.models import ApprovalDecision, ApprovalRequest
from erp_approval.policies import PolicyDefault, Step
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kernel.errors import Conflict
from kernel.plugins import hookimpl
from kernel.site import Site

SPK_EDIT = "testowner.spk.edit"
MATERIAL_DEBT = "testowner.material_debt"


@dataclass(frozen=True)
class User:
    """A caller as the approval service sees one (id, roles, department)."""

    id: int
    roles: tuple[str, ...]
    department: str | None


ADMIN_SEWING = User(1, ("Admin Sewing",), "Sewing")
SPV_SEWING = User(2, ("SPV Sewing",), "Sewing")
SPV_SEWING_2 = User(3, ("SPV Sewing",), "Sewing")
SPV_CUTTING = User(4, ("SPV Cutting",), "Cutting")
MANAGER = User(5, ("Manager",), None)
MANAGER_2 = User(6, ("Manager",), None)
FINANCE = User(7, ("Finance Manager",), None)
# Holds the Sewing SPV role name but belongs to Cutting: department scoping must still refuse.
SPV_ROLE_WRONG_DEPT = User(8, ("SPV Sewing",), "Cutting")


@dataclass(eq=False)  # pluggy keeps plugins in sets: identity, not value, equality
class OwningPlugin:
    """The plugin owning the test request types; records every call of ``on_approval_decided``."""

    calls: list[tuple[int, str, int | None]] = field(default_factory=list)
    veto: bool = False

    @hookimpl
    def erp_approval_policies(self) -> Sequence[PolicyDefault]:
        return [
            PolicyDefault(
                request_type=SPK_EDIT,
                steps=[
                    Step(role="SPV {department}", department_scoped=True, name="SPV"),
                    Step(role="Manager"),
                ],
                description="SPK quantity/deadline edit",
            ),
            PolicyDefault(
                request_type=MATERIAL_DEBT,
                steps=[
                    Step(role="SPV {department}", department_scoped=True, name="SPV"),
                    Step(role="Manager"),
                    Step(role="Finance Manager", min_amount=Decimal("50000000"), name="Above the debt cap"),
                ],
            ),
        ]

    @hookimpl
    def on_approval_decided(
        self, session: Session, request: ApprovalRequest, decision: ApprovalDecision | None
    ) -> None:
        from erp_example.models import Note

        if self.veto:
            raise Conflict("the SPK was completed meanwhile; the edit cannot be applied")
        self.calls.append((request.id, request.status, decision.id if decision else None))
        if request.status == "approved":
            session.add(Note(text=f"applied {request.request_type} {request.subject_id}: {request.payload}"))


def applied_count(site: Site) -> int:
    """How many changes the owning plugin applied (committed rows)."""
    from erp_example.models import Note

    with site.sessions() as session:
        return session.scalar(select(func.count()).select_from(Note)) or 0


def submit_as(
    site: Site,
    user: User,
    *,
    request_type: str = SPK_EDIT,
    subject_id: int = 101,
    payload: dict[str, object] | None = None,
    amount: Decimal | None = None,
) -> int:
    """Submit a request in its own committed transaction; returns its id."""
    from erp_approval import service

    with site.sessions.begin() as session:
        request = service.submit(
            session,
            request_type=request_type,
            subject_plugin="testowner",
            subject_entity="spk",
            subject_id=subject_id,
            payload=payload if payload is not None else {"quantity": {"old": 500, "new": 450}},
            requested_by=user.id,
            requester_department=user.department,
            amount=amount,
        )
        return request.id


def decide_as(
    site: Site, user: User, request_id: int, decision: str = "approve", note: str = ""
) -> ApprovalDecision:
    """Decide as ``user`` in its own transaction (committed only when the service succeeds)."""
    from erp_approval import service

    with site.sessions.begin() as session:
        return service.decide(
            session,
            request_id=request_id,
            approver_id=user.id,
            approver_roles=user.roles,
            approver_department=user.department,
            decision=decision,
            note=note,
        )


def status_of(site: Site, request_id: int) -> tuple[str, int | None, int]:
    """(status, current step, number of decisions) of a request as committed."""
    with site.sessions() as session:
        request = session.get(ApprovalRequest, request_id)
        assert request is not None
        return request.status, request.current_step, len(request.decisions)


def tamper(site: Site, sql: str, **params: object) -> None:
    """Edit rows as a database owner would: with the append-only trigger switched off for the change."""
    with site.engine.begin() as conn:
        conn.execute(text("ALTER TABLE approval_decision DISABLE TRIGGER approval_decision_append_only"))
        conn.execute(text(sql), params)
        conn.execute(text("ALTER TABLE approval_decision ENABLE TRIGGER approval_decision_append_only"))
