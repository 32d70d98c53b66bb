"""The tables of PPIC's live half: alerts and the stored daily reports (prefixed ``ppic_``).

An alert is unique by ``key`` (its source: an inspection, a stock-move line, a blocked send, a late
SPK), so a redelivered event never raises a second one; and at most one alert per ``subject`` (the SPK,
store or product it is about) is open at a time, so a recurring cause does not flood the list.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base

ALERT_TYPES = ("qc_fail", "metal_detector", "shortage", "line_clearance_block", "late_spk")
SEVERITIES = ("info", "warning", "critical")
ALERT_STATUSES = ("pending", "acknowledged", "resolved")
OPEN_STATUSES = ("pending", "acknowledged")
LEVELS = ("first_line", "manager", "director")
"""Escalation levels, in order: the department's first line, then the manager, then the director."""

_OPEN = text("status <> 'resolved'")


class Alert(Base):
    """Something on the floor that needs a person: pending -> acknowledged -> resolved, escalating
    first line -> manager -> director while nobody acknowledges it."""

    __tablename__ = "ppic_alert"
    __table_args__ = (
        CheckConstraint("severity IN ('info', 'warning', 'critical')", name="severity_valid"),
        CheckConstraint("status IN ('pending', 'acknowledged', 'resolved')", name="status_valid"),
        CheckConstraint(
            "escalation_level IN ('first_line', 'manager', 'director')", name="escalation_level_valid"
        ),
        Index(
            "uq_ppic_alert_open_subject",
            "subject",
            unique=True,
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
        Index("ix_ppic_alert_status_severity", "status", "severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    department: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    escalation_level: Mapped[str] = mapped_column(String(12), default="first_line")
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    escalated_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    resolution: Mapped[str | None] = mapped_column(String(500))


class DailyReport(Base):
    """The 08:00 report of one production day (figures frozen as generated; one per day)."""

    __tablename__ = "ppic_daily_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_date: Mapped[date] = mapped_column(Date, unique=True)
    scheduled_for: Mapped[datetime]
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


MODELS: list[type[Base]] = [Alert, DailyReport]
