"""Alerts: raised from other plugins' events and from late SPKs, escalated while nobody acknowledges them.

Sources (each alert's ``key`` names its source, so a redelivered event never raises a second one):

- ``inspection_failed`` -> ``qc_fail`` (``major``: warning, ``critical``: critical) or ``metal_detector``
  (always critical), about the inspection;
- ``stock_moved`` lines with a shortfall (material production consumed without stock: material debt)
  -> ``shortage`` (warning), about the product at that store;
- ``transfer_blocked`` -> ``line_clearance_block`` (warning), about the receiving store;
- the periodic job -> ``late_spk`` (warning) for an SPK past its deadline (or its MO's planned end).

At most one alert per subject is open (pending or acknowledged); a cause that recurs meanwhile is part
of that alert. Status: pending -> acknowledged -> resolved. A pending alert escalates first line ->
manager -> director after per-severity delays (``[plugin.ppic.escalation]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from erp_production.models import ManufacturingOrder, Spk
from erp_warehouse.models import Location, Product
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_ppic.dashboard import dashboard_changed, late_spk_due, late_spks_filter
from erp_ppic.models_live import LEVELS, OPEN_STATUSES, Alert
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.db import conflict_insert
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.rbac import PRODUCTION_DEPARTMENTS
from kernel.site import site_of

AUDIT = "ppic.alert"

DEFAULT_ESCALATION: dict[str, dict[str, int | None]] = {
    "critical": {"manager_after_minutes": 15, "director_after_minutes": 60},
    "warning": {"manager_after_minutes": 120, "director_after_minutes": 480},
    "info": {"manager_after_minutes": None, "director_after_minutes": None},
}
"""Minutes after being raised that a still-pending alert goes to the manager, then the director
(None: never). ``[plugin.ppic.escalation.<severity>]`` overrides either value."""


def canonical_department(name: str | None) -> str | None:
    """A department as production names it ("Cutting"), whatever case a store's master data uses."""
    if not name:
        return None
    return next((d for d in PRODUCTION_DEPARTMENTS if d.casefold() == name.casefold()), name)


# --- raising ---------------------------------------------------------------------------------------


def raise_alert(
    session: Session,
    *,
    key: str,
    type: str,
    severity: str,
    subject: str,
    title: str,
    department: str | None = None,
    details: dict[str, Any] | None = None,
    raised_at: datetime | None = None,
) -> Alert | None:
    """Insert an alert unless one with ``key`` exists or ``subject`` already has an open one.

    Returns the new alert, or None when nothing was raised. Safe under concurrency: both rules are
    unique constraints and the insert is ``ON CONFLICT DO NOTHING``.
    """
    values = {
        "key": key[:200],
        "type": type,
        "severity": severity,
        "subject": subject[:120],
        "title": title[:300],
        "department": canonical_department(department),
        "details": details or {},
        "status": "pending",
        "escalation_level": LEVELS[0],
        "raised_at": raised_at or utcnow(),
    }
    stmt = conflict_insert(session, Alert.__table__).values(**values).on_conflict_do_nothing()
    alert_id = session.execute(stmt.returning(Alert.__table__.c.id)).scalar_one_or_none()
    if alert_id is None:
        return None
    alert = session.get(Alert, alert_id)
    assert alert is not None
    record_change(session, entity_type=AUDIT, entity_id=alert.id, action="raise", new=snapshot(alert))
    dashboard_changed(session, reason="alert")
    return alert


def alert_from_failed_inspection(session: Session, *, payload: Any) -> Alert | None:
    """``inspection_failed``: a QC or metal-detector alert about the inspection."""
    metal = payload.reason == "metal_detector"
    kind = "metal_detector" if metal else "qc_fail"
    severity = "critical" if metal or payload.severity == "critical" else "warning"
    what = {
        "metal_detector": "metal detector failure",
        "critical_defect": "critical defect",
        "scrap": "scrap",
    }.get(payload.reason, payload.reason)
    return raise_alert(
        session,
        key=f"inspection:{payload.inspection_id}",
        type=kind,
        severity=severity,
        subject=f"inspection:{payload.inspection_id}",
        title=(
            f"{payload.department} {payload.checkpoint}: {what}, {payload.failed_quantity} units"
            + (f" (batch {payload.batch_number})" if payload.batch_number else "")
        ),
        department=payload.department,
        details=payload.model_dump(mode="json"),
    )


def alerts_from_shortfalls(session: Session, *, payload: Any) -> list[Alert]:
    """``stock_moved``: one shortage alert per short line (product at the store it was missing from)."""
    raised = []
    for line in payload.lines:
        if Decimal(line.shortfall) <= 0:
            continue
        product = session.get(Product, line.product_id)
        store = session.get(Location, line.from_location_id)
        code = product.code if product is not None else f"product {line.product_id}"
        where = store.code if store is not None else f"location {line.from_location_id}"
        covered = f", taken as material debt by {line.accepted_by}" if line.accepted_by else ""
        alert = raise_alert(
            session,
            key=f"shortage:{payload.move_id}:{line.line_no}",
            type="shortage",
            severity="warning",
            subject=f"shortage:{line.product_id}@{line.from_location_id}",
            title=f"{code} short at {where}: {line.shortfall} missing for {payload.reference}{covered}",
            department=store.department if store is not None else None,
            details={
                "move_id": payload.move_id,
                "reference": payload.reference,
                **line.model_dump(mode="json"),
            },
        )
        if alert is not None:
            raised.append(alert)
    return raised


def alert_from_blocked_transfer(session: Session, *, event_id: str, payload: Any) -> Alert | None:
    """``transfer_blocked``: a line-clearance alert about the receiving store."""
    return raise_alert(
        session,
        key=f"transfer_blocked:{event_id}",
        type="line_clearance_block",
        severity="warning",
        subject=f"line:{payload.to_location_id}",
        title=(
            f"Line clearance: {payload.to_location_code} still holds {payload.blocking_number}; "
            f"a transfer of {payload.quantity} ({payload.reference or 'no reference'}) was refused"
        ),
        department=payload.department,
        details=payload.model_dump(mode="json"),
    )


def raise_late_spk_alerts(session: Session, *, today: date) -> list[Alert]:
    """A ``late_spk`` alert for every late SPK that has none for its current due date."""
    due = late_spk_due().label("due")
    rows = session.execute(
        select(Spk.id, Spk.number, Spk.department, Spk.state, due)
        .join(ManufacturingOrder, ManufacturingOrder.id == Spk.mo_id)
        .where(*late_spks_filter(today))
        .order_by(Spk.id)
    ).all()
    raised = []
    for spk_id, number, department, state, due_date in rows:
        alert = raise_alert(
            session,
            key=f"late_spk:{spk_id}:{due_date.isoformat()}",
            type="late_spk",
            severity="warning",
            subject=f"spk:{spk_id}",
            title=f"{number} ({department}) is late: due {due_date.isoformat()}, still {state}",
            department=department,
            details={"spk_id": spk_id, "spk_number": number, "due": due_date.isoformat(), "state": state},
        )
        if alert is not None:
            raised.append(alert)
    return raised


# --- escalation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    """Delays after which a pending alert of one severity reaches the manager and the director."""

    manager_after: timedelta | None
    director_after: timedelta | None

    def level_at(self, age: timedelta) -> str:
        """The escalation level an alert of this ``age`` should have."""
        if self.director_after is not None and age >= self.director_after:
            return "director"
        if self.manager_after is not None and age >= self.manager_after:
            return "manager"
        return "first_line"


def escalation_policy(session: Session) -> dict[str, Escalation]:
    """Per severity, the site's escalation delays (defaults overridden by ``[plugin.ppic.escalation]``)."""
    configured = site_of(session).settings.plugin_settings("ppic").get("escalation", {})
    policy = {}
    for severity, defaults in DEFAULT_ESCALATION.items():
        merged = {**defaults, **configured.get(severity, {})}
        delays = []
        for name in ("manager_after_minutes", "director_after_minutes"):
            value = merged.get(name)
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise ValueError(
                    f"[plugin.ppic.escalation.{severity}] {name} must be minutes >= 0, not {value!r}"
                )
            delays.append(None if value is None else timedelta(minutes=value))
        if delays[0] is not None and delays[1] is not None and delays[1] < delays[0]:
            raise ValueError(f"[plugin.ppic.escalation.{severity}] the director comes after the manager")
        policy[severity] = Escalation(*delays)
    return policy


def escalate_alerts(session: Session, *, now: datetime) -> list[Alert]:
    """Raise every pending alert to the level its age calls for at ``now``; returns those escalated.

    Running it again for the same ``now`` changes nothing. Acknowledged alerts stay where they are.
    """
    policy = escalation_policy(session)
    escalated = []
    pending = session.scalars(
        select(Alert).where(Alert.status == "pending").order_by(Alert.id).with_for_update(skip_locked=True)
    )
    for alert in pending:
        target = policy[alert.severity].level_at(now - alert.raised_at)
        if LEVELS.index(target) <= LEVELS.index(alert.escalation_level):
            continue
        old = alert.escalation_level
        alert.escalation_level, alert.escalated_at = target, now
        record_change(
            session,
            entity_type=AUDIT,
            entity_id=alert.id,
            action="escalate",
            old={"escalation_level": old},
            new={"escalation_level": target},
        )
        escalated.append(alert)
    if escalated:
        session.flush()
        dashboard_changed(session, reason="alert")
    return escalated


# --- acknowledging and resolving -------------------------------------------------------------------


def snapshot(alert: Alert) -> dict[str, Any]:
    """What the audit trail keeps of an alert's state."""
    return {
        "type": alert.type,
        "severity": alert.severity,
        "subject": alert.subject,
        "status": alert.status,
        "escalation_level": alert.escalation_level,
    }


def get_alert(session: Session, *, alert_id: int, lock: bool = False, department: str | None = None) -> Alert:
    """One alert (locked when ``lock``); NotFound when missing or another department's (scoped callers)."""
    stmt = select(Alert).where(Alert.id == alert_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    alert = session.scalar(stmt)
    if alert is None or (department is not None and alert.department != department):
        raise NotFound(f"alert {alert_id} does not exist")
    return alert


def acknowledge(session: Session, *, alert_id: int, user: str, department: str | None = None) -> Alert:
    """pending -> acknowledged (stops escalation); Conflict from any other status."""
    alert = get_alert(session, alert_id=alert_id, lock=True, department=department)
    if alert.status != "pending":
        raise Conflict(f"alert {alert.id} is {alert.status}; only a pending alert can be acknowledged")
    old = snapshot(alert)
    alert.status, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", utcnow(), user
    session.flush()
    record_change(
        session, entity_type=AUDIT, entity_id=alert.id, action="acknowledge", old=old, new=snapshot(alert)
    )
    dashboard_changed(session, reason="alert")
    return alert


def resolve(
    session: Session, *, alert_id: int, user: str, resolution: str, department: str | None = None
) -> Alert:
    """acknowledged -> resolved with what was done; Conflict from any other status."""
    if not resolution.strip():
        raise ValidationFailed(
            "say how the alert was resolved", errors=[{"field": "resolution", "message": "must not be blank"}]
        )
    alert = get_alert(session, alert_id=alert_id, lock=True, department=department)
    if alert.status != "acknowledged":
        hint = "acknowledge it first" if alert.status == "pending" else "it is already resolved"
        raise Conflict(
            f"alert {alert.id} is {alert.status}; only an acknowledged alert can be resolved ({hint})"
        )
    old = snapshot(alert)
    alert.status, alert.resolved_at, alert.resolved_by = "resolved", utcnow(), user
    alert.resolution = resolution.strip()
    session.flush()
    record_change(
        session,
        entity_type=AUDIT,
        entity_id=alert.id,
        action="resolve",
        old=old,
        new={**snapshot(alert), "resolution": alert.resolution},
    )
    dashboard_changed(session, reason="alert")
    return alert


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    severity: str | None = None,
    type: str | None = None,
    department: str | None = None,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Alert], int]:
    """Alerts, newest first, filtered by status (or open only), severity, type and department."""
    stmt = select(Alert)
    if status:
        stmt = stmt.where(Alert.status == status)
    if open_only:
        stmt = stmt.where(Alert.status.in_(OPEN_STATUSES))
    if severity:
        stmt = stmt.where(Alert.severity == severity)
    if type:
        stmt = stmt.where(Alert.type == type)
    if department:
        stmt = stmt.where(Alert.department == department)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Alert.raised_at.desc(), Alert.id.desc()).offset(offset).limit(limit))
    return list(rows), total


# --- periodic jobs ---------------------------------------------------------------------------------


def escalation_job(session: Session, scheduled_for: datetime) -> None:
    """``ppic.alerts``: raise late-SPK alerts and escalate pending alerts, as of ``scheduled_for``."""
    from zoneinfo import ZoneInfo

    today = scheduled_for.astimezone(ZoneInfo(site_of(session).settings.timezone)).date()
    raise_late_spk_alerts(session, today=today)
    escalate_alerts(session, now=scheduled_for)
