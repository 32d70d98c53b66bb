"""Defect category routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from erp_quality import defects
from erp_quality import permissions as perm
from erp_quality.schemas import DefectCategoryIn, DefectCategoryOut, DefectCategoryPatch, DefectType
from kernel.deps import SessionDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/defect-categories", tags=["quality"])
View = Annotated[Principal, Depends(require(perm.CATEGORY_VIEW))]
Manage = Annotated[Principal, Depends(require(perm.CATEGORY_MANAGE))]


@router.get("", response_model=Page[DefectCategoryOut])
def list_categories(
    session: SessionDep,
    page: PageDep,
    principal: View,
    active: bool | None = None,
    defect_type: Annotated[DefectType | None, Query(description="Only this defect type.")] = None,
) -> Page[DefectCategoryOut]:
    """Defect categories by code."""
    rows, total = defects.list_categories(
        session, active=active, defect_type=defect_type, limit=page.limit, offset=page.offset
    )
    items = [DefectCategoryOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=DefectCategoryOut)
def create_category(
    body: DefectCategoryIn, session: SessionDep, principal: Manage, idem: IdempotencyDep
) -> DefectCategoryOut:
    """Create a defect category (code, type, severity)."""
    out = DefectCategoryOut.model_validate(defects.create_category(session, data=body))
    return idem.remember(out, status_code=201)


@router.get("/{category_id}", response_model=DefectCategoryOut)
def get_category(category_id: int, session: SessionDep, principal: View) -> DefectCategoryOut:
    """One defect category."""
    return DefectCategoryOut.model_validate(defects.get_category(session, category_id=category_id))


@router.patch("/{category_id}", response_model=DefectCategoryOut)
def update_category(
    category_id: int, body: DefectCategoryPatch, session: SessionDep, principal: Manage
) -> DefectCategoryOut:
    """Change a defect category."""
    return DefectCategoryOut.model_validate(
        defects.update_category(session, category_id=category_id, data=body)
    )


@router.delete("/{category_id}", status_code=204)
def delete_category(category_id: int, session: SessionDep, principal: Manage) -> None:
    """Delete an unused defect category (one in use: deactivate it)."""
    defects.delete_category(session, category_id=category_id)
