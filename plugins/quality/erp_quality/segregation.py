"""Segregation: failed or suspect units moved to quarantine with a reason, acknowledged by the
responsible role, then released back or scrapped. Every step is a stock move (through the warehouse's
``post_stock_move``) and an audit entry."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from erp_production.models import Spk
from erp_warehouse.models import Location, Lot, Product
from erp_warehouse.stock import MoveLine, post_stock_move
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_quality.actor import Actor, check_department
from erp_quality.models import Inspection, Segregation
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.site import site_of

AUDIT = "quality.segregation"
OPEN = ("quarantined", "acknowledged")


def _snapshot(s: Segregation) -> dict[str, object]:
    return {
        "status": s.status,
        "product_id": s.product_id,
        "quantity": str(s.quantity),
        "from_location_id": s.from_location_id,
        "quarantine_location_id": s.quarantine_location_id,
        "reason": s.reason,
        "department": s.department,
        "quarantine_move_id": s.quarantine_move_id,
        "close_move_id": s.close_move_id,
    }


def _location_of_kind(session: Session, kind: str, setting: str) -> Location:
    """The site's location of ``kind``: the one named in ``[plugin.quality] <setting>`` (a location
    code), else the only active one of that kind."""
    code = site_of(session).settings.plugin_settings("quality").get(setting)
    stmt = select(Location).where(Location.kind == kind, Location.active)
    if code:
        stmt = stmt.where(Location.code == code)
    found = session.scalars(stmt.order_by(Location.id).limit(2)).all()
    if len(found) != 1:
        hint = f"location {code!r}" if code else f"exactly one active {kind} location"
        raise Conflict(f"no {kind} location: the site needs {hint} (setting [plugin.quality] {setting})")
    return found[0]


def quarantine_location(session: Session) -> Location:
    """Where segregated units are held."""
    return _location_of_kind(session, "quarantine", "quarantine_location")


def scrap_location(session: Session) -> Location:
    """Where scrapped units go (a virtual location: they leave stock)."""
    return _location_of_kind(session, "scrap", "scrap_location")


def department_store(session: Session, department: str) -> Location | None:
    """The active store location of a department, if the site has exactly one."""
    found = session.scalars(
        select(Location)
        .where(
            Location.kind == "store", Location.active, func.lower(Location.department) == department.lower()
        )
        .limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def segregate(
    session: Session,
    *,
    product_id: int,
    from_location_id: int,
    quantity: Decimal,
    reason: str,
    source: str,
    department: str | None = None,
    lot_id: int | None = None,
    inspection_id: int | None = None,
    spk_id: int | None = None,
    batch_number: str | None = None,
    actor: Actor,
) -> Segregation:
    """Move ``quantity`` units to quarantine and open a segregation for them.

    Only what exists can be quarantined (409 otherwise). The department defaults to the source
    location's; a department-scoped actor segregates only in their department.
    """
    errors = []
    if session.get(Product, product_id) is None:
        errors.append({"field": "product_id", "message": "unknown product"})
    source_loc = session.get(Location, from_location_id)
    if source_loc is None or not source_loc.internal:
        errors.append({"field": "from_location_id", "message": "unknown location or one that holds no stock"})
    elif source_loc.kind == "quarantine":
        errors.append({"field": "from_location_id", "message": "the units are in quarantine already"})
    if spk_id is not None and session.get(Spk, spk_id) is None:
        errors.append({"field": "spk_id", "message": "unknown SPK"})
    if inspection_id is not None and session.get(Inspection, inspection_id) is None:
        errors.append({"field": "inspection_id", "message": "unknown inspection"})
    if lot_id is not None and session.get(Lot, lot_id) is None:
        errors.append({"field": "lot_id", "message": "unknown lot"})
    if errors:
        raise ValidationFailed("invalid segregation", errors=errors)
    assert source_loc is not None
    if department is None:
        if source_loc.department is None:
            raise ValidationFailed(
                "name the department responsible for these units",
                errors=[{"field": "department", "message": "required: the source location has none"}],
            )
        department = source_loc.department
    department = check_department(department)
    actor.check_acts(department, "this segregation")
    quarantine = quarantine_location(session)
    segregation = Segregation(
        status="quarantined",
        source=source,
        reason=reason,
        department=department,
        product_id=product_id,
        lot_id=lot_id,
        quantity=quantity,
        from_location_id=from_location_id,
        quarantine_location_id=quarantine.id,
        inspection_id=inspection_id,
        spk_id=spk_id,
        batch_number=batch_number,
        created_by=actor.username,
        created_at=utcnow(),
    )
    session.add(segregation)
    session.flush()
    move = post_stock_move(
        session,
        hooks=site_of(session).registry.pm.hook,
        lines=[MoveLine(product_id, from_location_id, quarantine.id, quantity, lot_id=lot_id)],
        reference=f"QC-SEG-{segregation.id}",
        user=actor.username,
        note=reason,
        allow_shortfall=False,
    )
    segregation.quarantine_move_id = move.move_id
    session.flush()
    record_change(
        session, entity_type=AUDIT, entity_id=segregation.id, action="create", new=_snapshot(segregation)
    )
    return segregation


def get_segregation(session: Session, *, segregation_id: int, actor: Actor) -> Segregation:
    """One segregation (404 when missing or of another department for a scoped reader)."""
    segregation = session.get(Segregation, segregation_id)
    if segregation is None:
        raise NotFound(f"segregation {segregation_id} does not exist")
    actor.check_sees(segregation.department, f"segregation {segregation_id}")
    return segregation


def list_segregations(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    department: str | None = None,
    batch_number: str | None = None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Segregation], int]:
    """Segregations, newest first, within the actor's department scope."""
    stmt = select(Segregation)
    if actor.scope is not None:
        stmt = stmt.where(Segregation.department == actor.scope)
    if status is not None:
        stmt = stmt.where(Segregation.status == status)
    if department is not None:
        stmt = stmt.where(Segregation.department == department)
    if batch_number is not None:
        stmt = stmt.where(Segregation.batch_number == batch_number)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Segregation.id.desc()).limit(limit).offset(offset)).all()
    return rows, total


def _locked(session: Session, segregation_id: int, actor: Actor) -> Segregation:
    segregation = session.scalar(
        select(Segregation).where(Segregation.id == segregation_id).with_for_update()
    )
    if segregation is None:
        raise NotFound(f"segregation {segregation_id} does not exist")
    actor.check_acts(segregation.department, f"segregation {segregation_id}")
    return segregation


def acknowledge(
    session: Session, *, segregation_id: int, actor: Actor, note: str | None = None
) -> Segregation:
    """The responsible role acknowledges quarantined units (409 unless quarantined)."""
    segregation = _locked(session, segregation_id, actor)
    if segregation.status != "quarantined":
        raise Conflict(f"segregation {segregation_id} is {segregation.status}, not quarantined")
    old = _snapshot(segregation)
    segregation.status = "acknowledged"
    segregation.acknowledged_by = actor.username
    segregation.acknowledged_at = utcnow()
    if note:
        segregation.resolution_note = note
    session.flush()
    record_change(
        session,
        entity_type=AUDIT,
        entity_id=segregation.id,
        action="acknowledge",
        old=old,
        new=_snapshot(segregation),
    )
    return segregation


def _close(
    session: Session, *, segregation_id: int, actor: Actor, note: str | None, scrap: bool
) -> Segregation:
    segregation = _locked(session, segregation_id, actor)
    if segregation.status != "acknowledged":
        raise Conflict(
            f"segregation {segregation_id} is {segregation.status}; only acknowledged units are "
            f"{'scrapped' if scrap else 'released'}"
        )
    old = _snapshot(segregation)
    target = scrap_location(session).id if scrap else segregation.from_location_id
    move = post_stock_move(
        session,
        hooks=site_of(session).registry.pm.hook,
        lines=[
            MoveLine(
                segregation.product_id,
                segregation.quarantine_location_id,
                target,
                segregation.quantity,
                lot_id=segregation.lot_id,
            )
        ],
        reference=f"QC-SEG-{segregation.id}-{'SCRAP' if scrap else 'RELEASE'}",
        user=actor.username,
        note=note,
        allow_shortfall=False,
    )
    segregation.status = "scrapped" if scrap else "released"
    segregation.close_move_id = move.move_id
    segregation.closed_by = actor.username
    segregation.closed_at = utcnow()
    if note:
        segregation.resolution_note = note
    session.flush()
    record_change(
        session,
        entity_type=AUDIT,
        entity_id=segregation.id,
        action="scrap" if scrap else "release",
        old=old,
        new=_snapshot(segregation),
    )
    return segregation


def release(session: Session, *, segregation_id: int, actor: Actor, note: str | None = None) -> Segregation:
    """Move acknowledged units back where they came from (they passed re-inspection)."""
    return _close(session, segregation_id=segregation_id, actor=actor, note=note, scrap=False)


def scrap(session: Session, *, segregation_id: int, actor: Actor, note: str | None = None) -> Segregation:
    """Move acknowledged units to the scrap location (they leave stock)."""
    return _close(session, segregation_id=segregation_id, actor=actor, note=note, scrap=True)
