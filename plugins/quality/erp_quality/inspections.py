"""Inspections: inline ones entered by QC inspectors during production, and the final inspection that
the ``spk_completed`` handler creates pending (exactly one per SPK) and an inspector completes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from erp_production.models import Spk
from erp_warehouse.models import Location, Product
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from erp_quality.actor import Actor, check_department
from erp_quality.events import InspectionFailed, InspectionRecorded
from erp_quality.metal import check_metal_input, record_metal_detection
from erp_quality.models import CHECKPOINT_DEPARTMENT, DefectCategory, Inspection, InspectionDefect
from erp_quality.schemas import FinalInspectionIn, InlineInspectionIn, InspectionResultIn
from erp_quality.segregation import department_store
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.events import emit

AUDIT = "quality.inspection"
CLOCK_SKEW = timedelta(minutes=5)


def _snapshot(i: Inspection) -> dict[str, object]:
    return {
        "kind": i.kind,
        "checkpoint": i.checkpoint,
        "status": i.status,
        "spk_id": i.spk_id,
        "batch_number": i.batch_number,
        "department": i.department,
        "inspected": str(i.inspected_qty),
        "pass": str(i.pass_qty),
        "rework": str(i.rework_qty),
        "scrap": str(i.scrap_qty),
        "defects": [{"category_id": d.category_id, "quantity": str(d.quantity)} for d in i.defects],
    }


def _validate_result(
    session: Session, inspection: Inspection, data: InspectionResultIn
) -> dict[int, DefectCategory]:
    """Field errors for the arithmetic, the defect categories and the metal-detector result."""
    errors: list[dict[str, str]] = []
    total = data.pass_qty + data.rework_qty + data.scrap_qty
    if total != data.inspected_qty:
        errors.append(
            {
                "field": "inspected_qty",
                "message": f"inspected ({data.inspected_qty}) must equal pass + rework + scrap ({total})",
            }
        )
    if inspection.expected_qty is not None and data.inspected_qty > inspection.expected_qty:
        errors.append(
            {"field": "inspected_qty", "message": f"more than the {inspection.expected_qty} to inspect"}
        )
    defective = data.rework_qty + data.scrap_qty
    ids = {d.category_id for d in data.defects}
    categories = {c.id: c for c in session.scalars(select(DefectCategory).where(DefectCategory.id.in_(ids)))}
    for n, defect in enumerate(data.defects):
        category = categories.get(defect.category_id)
        if category is None or not category.active:
            errors.append(
                {"field": f"defects.{n}.category_id", "message": "unknown or inactive defect category"}
            )
        if defect.quantity > defective:
            errors.append(
                {"field": f"defects.{n}.quantity", "message": "more than the rework and scrap units"}
            )
    if data.inspected_at is not None:
        if data.inspected_at.tzinfo is None:
            errors.append({"field": "inspected_at", "message": "needs a time zone"})
        elif data.inspected_at > utcnow() + CLOCK_SKEW:
            errors.append({"field": "inspected_at", "message": "must not be in the future"})
    if data.metal_detector is not None:
        inspection.inspected_qty = data.inspected_qty
        errors += check_metal_input(inspection, data.metal_detector, defective)
    if errors:
        raise ValidationFailed("invalid inspection result", errors=errors)
    return categories


def _record_result(
    session: Session, inspection: Inspection, data: InspectionResultIn, actor: Actor
) -> Inspection:
    """Store counts and defects, run the metal detector result, set the status; emit
    ``inspection_recorded``, and ``inspection_failed`` too when it failed."""
    categories = _validate_result(session, inspection, data)
    if data.location_id is not None:
        location = session.get(Location, data.location_id)
        if location is None or not location.internal:
            raise ValidationFailed(
                "unknown location",
                errors=[{"field": "location_id", "message": "unknown location or one that holds no stock"}],
            )
        inspection.location_id = location.id
    elif inspection.location_id is None:
        store = department_store(session, inspection.department)
        inspection.location_id = store.id if store is not None else None
    inspection.inspected_qty = data.inspected_qty
    inspection.pass_qty = data.pass_qty
    inspection.rework_qty = data.rework_qty
    inspection.scrap_qty = data.scrap_qty
    inspection.inspector_id = actor.user_id
    inspection.inspector = actor.username
    recorded_at = utcnow()
    inspected_at = data.inspected_at or recorded_at
    inspection.inspected_at = inspected_at
    inspection.notes = data.notes
    for d in data.defects:
        inspection.defects.append(
            InspectionDefect(
                category_id=d.category_id, quantity=d.quantity, location_on_toy=d.location_on_toy, note=d.note
            )
        )
    session.flush()
    metal_failed = Decimal(0)
    segregation_id = None
    if data.metal_detector is not None:
        run = record_metal_detection(session, inspection=inspection, result=data.metal_detector, actor=actor)
        metal_failed, segregation_id = run.failed_qty, run.segregation_id
    critical = any(categories[d.category_id].severity == "critical" for d in data.defects)
    failed = metal_failed > 0 or critical or data.scrap_qty > 0
    inspection.status = "failed" if failed else "passed"
    session.flush()
    recorded = InspectionRecorded(
        inspection_id=inspection.id,
        kind=inspection.kind,
        checkpoint=inspection.checkpoint,
        status=inspection.status,
        department=inspection.department,
        spk_id=inspection.spk_id,
        batch_number=inspection.batch_number,
        product_id=inspection.product_id,
        inspected=str(inspection.inspected_qty),
        passed=str(inspection.pass_qty),
        rework=str(inspection.rework_qty),
        scrap=str(inspection.scrap_qty),
        inspected_at=inspected_at,
        recorded_at=recorded_at,
    )
    emit(session, "inspection_recorded", recorded, aggregate=f"inspection:{inspection.id}")
    if failed:
        reason = "metal_detector" if metal_failed > 0 else "critical_defect" if critical else "scrap"
        payload = InspectionFailed(
            inspection_id=inspection.id,
            checkpoint=inspection.checkpoint,
            severity="critical" if metal_failed > 0 or critical else "major",
            reason=reason,
            department=inspection.department,
            spk_id=inspection.spk_id,
            batch_number=inspection.batch_number,
            product_id=inspection.product_id,
            failed_quantity=str(max(metal_failed, data.scrap_qty)),
            segregation_id=segregation_id,
        )
        emit(session, "inspection_failed", payload, aggregate=f"inspection:{inspection.id}")
    return inspection


def create_inline_inspection(session: Session, *, data: InlineInspectionIn, actor: Actor) -> Inspection:
    """Record an inline inspection of an SPK's or batch's output at a production checkpoint."""
    if data.spk_id is None and data.batch_number is None:
        raise ValidationFailed(
            "name the SPK or the batch inspected",
            errors=[{"field": "spk_id", "message": "spk_id or batch_number required"}],
        )
    errors = []
    spk = session.get(Spk, data.spk_id) if data.spk_id is not None else None
    if data.spk_id is not None and spk is None:
        errors.append({"field": "spk_id", "message": "unknown SPK"})
    if data.product_id is not None and session.get(Product, data.product_id) is None:
        errors.append({"field": "product_id", "message": "unknown product"})
    if errors:
        raise ValidationFailed("invalid inspection", errors=errors)
    default = spk.department if spk is not None else CHECKPOINT_DEPARTMENT[data.checkpoint]
    department = check_department(data.department or default)
    actor.check_acts(department, "this inspection")
    inspection = Inspection(
        kind="inline",
        checkpoint=data.checkpoint,
        status="pending",
        spk_id=data.spk_id,
        batch_number=data.batch_number,
        department=department,
        product_id=data.product_id or (spk.product_id if spk is not None else None),
        mo_id=spk.mo_id if spk is not None else None,
        created_at=utcnow(),
    )
    session.add(inspection)
    _record_result(session, inspection, data, actor)
    record_change(
        session, entity_type=AUDIT, entity_id=inspection.id, action="create", new=_snapshot(inspection)
    )
    return inspection


def create_final_inspection(
    session: Session,
    *,
    spk_id: int,
    department: str,
    quantity: Decimal,
    mo_id: int | None = None,
    product_id: int | None = None,
    batch_number: str | None = None,
) -> Inspection:
    """The pending final inspection of a completed SPK's output: created once, returned thereafter.

    Safe against the event arriving twice (or two events for one SPK racing): ``final_spk_id`` is unique,
    and a losing insert returns the winner's row.
    """
    existing = session.scalar(select(Inspection).where(Inspection.final_spk_id == spk_id))
    if existing is not None:
        return existing
    inspection = Inspection(
        kind="final",
        checkpoint="final",
        status="pending",
        spk_id=spk_id,
        final_spk_id=spk_id,
        mo_id=mo_id,
        batch_number=batch_number,
        department=check_department(department),
        product_id=product_id,
        expected_qty=quantity,
        created_at=utcnow(),
    )
    spk = session.get(Spk, spk_id)
    store = department_store(session, inspection.department)
    if spk is not None:  # the SPK's output waits in its department's store
        inspection.location_id = spk.store_location_id
    elif store is not None:
        inspection.location_id = store.id
    savepoint = session.begin_nested()
    try:
        session.add(inspection)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        winner = session.scalar(select(Inspection).where(Inspection.final_spk_id == spk_id))
        if winner is None:
            raise
        return winner
    savepoint.commit()
    record_change(
        session, entity_type=AUDIT, entity_id=inspection.id, action="create", new=_snapshot(inspection)
    )
    return inspection


def final_inspection_for_completed_spk(session: Session, *, payload: Any) -> Inspection:
    """React to ``spk_completed`` (``erp_production.events.SpkCompleted``): the SPK's good output is due
    for its final inspection."""
    return create_final_inspection(
        session,
        spk_id=payload.spk_id,
        mo_id=payload.mo_id,
        department=payload.department,
        quantity=Decimal(payload.good),
        product_id=payload.product_id,
        batch_number=payload.batch_number,
    )


def complete_final_inspection(session: Session, *, data: FinalInspectionIn, actor: Actor) -> Inspection:
    """An inspector completes a pending final inspection (named by id or SPK)."""
    if data.inspection_id is None and data.spk_id is None:
        raise ValidationFailed(
            "name the final inspection",
            errors=[{"field": "inspection_id", "message": "inspection_id or spk_id required"}],
        )
    stmt = select(Inspection).where(Inspection.kind == "final").with_for_update()
    if data.inspection_id is not None:
        stmt = stmt.where(Inspection.id == data.inspection_id)
    if data.spk_id is not None:
        stmt = stmt.where(Inspection.final_spk_id == data.spk_id)
    inspection = session.scalar(stmt)
    if inspection is None:
        raise NotFound("no such final inspection")
    actor.check_acts(inspection.department, f"inspection {inspection.id}")
    if inspection.status != "pending":
        raise Conflict(f"final inspection {inspection.id} is {inspection.status} already")
    old = _snapshot(inspection)
    _record_result(session, inspection, data, actor)
    record_change(
        session,
        entity_type=AUDIT,
        entity_id=inspection.id,
        action="complete",
        old=old,
        new=_snapshot(inspection),
    )
    return inspection


def get_inspection(session: Session, *, inspection_id: int, actor: Actor) -> Inspection:
    """One inspection with defects and metal-detector runs (404 outside the reader's department)."""
    inspection = session.get(Inspection, inspection_id)
    if inspection is None:
        raise NotFound(f"inspection {inspection_id} does not exist")
    actor.check_sees(inspection.department, f"inspection {inspection_id}")
    return inspection


def list_inspections(
    session: Session,
    *,
    actor: Actor,
    kind: str | None = None,
    status: str | None = None,
    checkpoint: str | None = None,
    department: str | None = None,
    spk_id: int | None = None,
    batch_number: str | None = None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Inspection], int]:
    """Inspections, newest first, filtered, within the actor's department scope."""
    stmt = select(Inspection)
    filters = {
        Inspection.kind: kind,
        Inspection.status: status,
        Inspection.checkpoint: checkpoint,
        Inspection.department: department,
        Inspection.spk_id: spk_id,
        Inspection.batch_number: batch_number,
    }
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if actor.scope is not None:
        stmt = stmt.where(Inspection.department == actor.scope)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.options(selectinload(Inspection.defects), selectinload(Inspection.metal_checks))
    rows = session.scalars(stmt.order_by(Inspection.id.desc()).limit(limit).offset(offset)).all()
    return rows, total
