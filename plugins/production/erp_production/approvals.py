"""The approval request types production owns, and how their closing decisions are applied."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from erp_approval.policies import PolicyDefault, Step
from sqlalchemy.orm import Session

from erp_production.debt import DEBT_TYPE, DEBT_TYPE_NO_SPV, decide_debt
from erp_production.edits import EDIT_TYPE, EDIT_TYPE_NO_SPV, decide_edit

DEBT_CAP = Decimal("50000000")
"""Default open-debt value (IDR) above which the Finance Manager must also approve; a site sets its own
with ``[plugin.approval.amount_caps] "production.material_debt" = "..."``."""

_SPV = Step(role="SPV {department}", department_scoped=True, name="SPV")
_CAP = Step(role="Finance Manager", min_amount=DEBT_CAP, name="Above the open-debt cap")

POLICIES = [
    PolicyDefault(
        EDIT_TYPE,
        steps=[_SPV, Step(role="Manager")],
        description="Quantity, deadline, notes or article edit of an SPK",
    ),
    PolicyDefault(
        EDIT_TYPE_NO_SPV,
        steps=[Step(role="Manager")],
        description="SPK edit in a department without an SPV role",
    ),
    PolicyDefault(DEBT_TYPE, steps=[_SPV, Step(role="Manager"), _CAP], description="Material debt of an SPK"),
    PolicyDefault(
        DEBT_TYPE_NO_SPV,
        steps=[Step(role="Manager"), _CAP],
        description="Material debt in a department without an SPV role",
    ),
]


def apply_decision(session: Session, *, request: Any, decision: Any) -> None:
    """Route a closed request of ours to the debt or edit it concerns."""
    if request.request_type in (DEBT_TYPE, DEBT_TYPE_NO_SPV):
        decide_debt(session, debt_id=int(request.subject_id), status=request.status)
    elif request.request_type in (EDIT_TYPE, EDIT_TYPE_NO_SPV):
        decide_edit(session, request=request, decision=decision)
