"""Consistency checks of the production plugin (run by ``erp check``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_production.models import DebtSettlement, MaterialDebt


def debts_match_settlements(session: Session) -> Iterable[str]:
    """Every debt's settled quantity equals the sum of its settlements."""
    sums = (
        select(DebtSettlement.debt_id, func.sum(DebtSettlement.quantity).label("q"))
        .group_by(DebtSettlement.debt_id)
        .subquery()
    )
    stmt = select(MaterialDebt.id, MaterialDebt.settled_qty, sums.c.q).outerjoin(
        sums, sums.c.debt_id == MaterialDebt.id
    )
    for debt_id, settled, total in session.execute(stmt).tuples():
        if (total or 0) != settled:
            yield f"material debt {debt_id}: settled {settled} but settlements add up to {total or 0}"


CHECKS = [debts_match_settlements]
