"""Reorder rule routes: list, create, change, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from erp_kanban import permissions as perm
from erp_kanban import reorder as service
from erp_kanban.schemas import RuleIn, RuleOut, RulePatch
from kernel.deps import SessionDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/rules", tags=["kanban: reorder rules"])


@router.get("", response_model=Page[RuleOut])
def list_rules(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.BOARD_VIEW))],
    product_id: int | None = None,
    location_id: int | None = None,
) -> Page[RuleOut]:
    """Reorder points per product and department store (department roles: their store's)."""
    rows, total = service.list_rules(
        session,
        department=principal.department_scope(perm.BOARD_VIEW),
        product_id=product_id,
        location_id=location_id,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[RuleOut.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=201, response_model=RuleOut)
def create_rule(
    body: RuleIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.RULE_MANAGE))],
    idem: IdempotencyDep,
) -> RuleOut:
    """A reorder point for a product in a department store (409 when one exists). Safe to retry with an
    Idempotency-Key."""
    rule = service.create_rule(session, data=body, user=principal.username)
    return idem.remember(RuleOut.model_validate(rule), status_code=201)


@router.get("/{rule_id}", response_model=RuleOut)
def get_rule(
    rule_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.BOARD_VIEW))]
) -> RuleOut:
    """One reorder rule."""
    return RuleOut.model_validate(
        service.get_rule(session, rule_id=rule_id, department=principal.department_scope(perm.BOARD_VIEW))
    )


@router.patch("/{rule_id}", response_model=RuleOut)
def update_rule(
    rule_id: int,
    body: RulePatch,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.RULE_MANAGE))],
) -> RuleOut:
    """Change a rule's reorder point, order quantity, priority or active flag."""
    return RuleOut.model_validate(service.update_rule(session, rule_id=rule_id, data=body))


@router.delete("/{rule_id}", status_code=204)
def delete_rule(
    rule_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.RULE_MANAGE))]
) -> Response:
    """Delete a rule (the cards it raised stay)."""
    service.delete_rule(session, rule_id=rule_id)
    return Response(status_code=204)
