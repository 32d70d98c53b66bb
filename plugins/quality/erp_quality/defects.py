"""Defect categories: the kinds of defect inspectors record (type and severity)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_quality.models import DefectCategory, InspectionDefect
from erp_quality.schemas import DefectCategoryIn, DefectCategoryPatch
from kernel.audit import record_change
from kernel.errors import Conflict, NotFound

AUDIT = "quality.defect_category"


def _snapshot(c: DefectCategory) -> dict[str, object]:
    return {
        "code": c.code,
        "name": c.name,
        "defect_type": c.defect_type,
        "severity": c.severity,
        "active": c.active,
    }


def list_categories(
    session: Session, *, active: bool | None = None, defect_type: str | None = None, limit: int, offset: int
) -> tuple[Sequence[DefectCategory], int]:
    """Defect categories by code, optionally only (in)active ones or one type."""
    stmt = select(DefectCategory)
    if active is not None:
        stmt = stmt.where(DefectCategory.active == active)
    if defect_type is not None:
        stmt = stmt.where(DefectCategory.defect_type == defect_type)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(DefectCategory.code).limit(limit).offset(offset)).all()
    return rows, total


def get_category(session: Session, *, category_id: int) -> DefectCategory:
    """One defect category (404 when missing)."""
    category = session.get(DefectCategory, category_id)
    if category is None:
        raise NotFound(f"defect category {category_id} does not exist")
    return category


def create_category(session: Session, *, data: DefectCategoryIn) -> DefectCategory:
    """Create a defect category; its code is unique (409 when taken)."""
    if session.scalar(select(DefectCategory.id).where(DefectCategory.code == data.code)) is not None:
        raise Conflict(f"defect category {data.code} exists", errors=[{"field": "code", "message": "taken"}])
    category = DefectCategory(**data.model_dump())
    session.add(category)
    session.flush()
    record_change(session, entity_type=AUDIT, entity_id=category.id, action="create", new=_snapshot(category))
    return category


def update_category(session: Session, *, category_id: int, data: DefectCategoryPatch) -> DefectCategory:
    """Change a defect category's name, type, severity or active flag."""
    category = get_category(session, category_id=category_id)
    old = _snapshot(category)
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None or name == "description":
            setattr(category, name, value)
    session.flush()
    record_change(
        session, entity_type=AUDIT, entity_id=category.id, action="update", old=old, new=_snapshot(category)
    )
    return category


def delete_category(session: Session, *, category_id: int) -> None:
    """Delete an unused defect category; one that inspections used can only be deactivated (409)."""
    category = get_category(session, category_id=category_id)
    used = session.scalar(
        select(InspectionDefect.id).where(InspectionDefect.category_id == category_id).limit(1)
    )
    if used is not None:
        raise Conflict(f"defect category {category.code} is used by inspections; deactivate it instead")
    record_change(session, entity_type=AUDIT, entity_id=category.id, action="delete", old=_snapshot(category))
    session.delete(category)
    session.flush()
