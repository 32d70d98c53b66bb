"""Request and response schemas of the dashboard, the alerts and the daily reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DepartmentFigures(BaseModel):
    """One department: SPKs in progress vs their target, and today's input."""

    department: str
    spks_in_progress: int
    target: Decimal
    good_to_date: Decimal
    percent_done: Decimal | None
    good_today: Decimal
    defect_today: Decimal
    rework_today: Decimal


class QcFigures(BaseModel):
    """Completed inspections of a period; pass rate = (inspected - scrap) / inspected, in percent."""

    inspections: int
    failed: int
    inspected: Decimal
    passed: Decimal
    rework: Decimal
    scrap: Decimal
    pass_rate: Decimal | None


class QcPeriods(BaseModel):
    """QC today and in the current ISO week (Monday to today)."""

    today: QcFigures
    week: QcFigures


class DebtFigures(BaseModel):
    """Open material debt (pending approval or approved, not fully settled)."""

    open: int
    pending: int
    approved: int
    value: Decimal


class ShortageItem(BaseModel):
    """A product whose total stock on hand is below its minimum."""

    product_id: int
    code: str
    name: str
    on_hand: Decimal
    min_stock: Decimal
    missing: Decimal


class Shortages(BaseModel):
    """Every product below minimum (``count``), the first 50 by missing quantity (``items``)."""

    count: int
    items: list[ShortageItem]


class LateSpk(BaseModel):
    """An SPK past its due date (deadline, else its MO's planned end) and not completed."""

    spk_id: int
    number: str
    mo_number: str
    department: str
    state: str
    due: date
    days_late: int
    target: Decimal
    good: Decimal


class LateSpks(BaseModel):
    """Every late SPK (``count``), the 50 most overdue (``items``)."""

    count: int
    items: list[LateSpk]


class CriticalAlert(BaseModel):
    """An open critical alert as the dashboard shows it."""

    id: int
    type: str
    title: str
    department: str | None
    status: str
    escalation_level: str
    raised_at: datetime


class AlertFigures(BaseModel):
    """Open alerts (pending or acknowledged) by severity and status; the open critical ones."""

    open: int
    by_severity: dict[str, int]
    by_status: dict[str, int]
    critical: list[CriticalAlert]


class DashboardOut(BaseModel):
    """The PPIC real-time dashboard; every figure computed from the data at ``as_of``."""

    as_of: datetime
    today: date
    week: str
    mos_by_state: dict[str, int]
    departments: list[DepartmentFigures]
    qc: QcPeriods
    material_debt: DebtFigures
    shortages: Shortages
    late_spks: LateSpks
    alerts: AlertFigures


class AlertOut(BaseModel):
    """An alert and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    type: str
    severity: str
    subject: str
    title: str
    department: str | None
    details: dict[str, Any]
    status: str
    escalation_level: str
    raised_at: datetime
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class ResolveIn(BaseModel):
    """How the alert was resolved."""

    resolution: str = Field(min_length=1, max_length=500)


class DepartmentDay(BaseModel):
    """A department's input of the report's day."""

    department: str
    good: Decimal
    defect: Decimal
    rework: Decimal
    yield_pct: Decimal | None
    spks_started: int
    spks_completed: int


class DailyReportData(BaseModel):
    """The figures of a daily report: the production day, and the state at generation."""

    production: list[DepartmentDay]
    qc: QcFigures
    alerts_raised: dict[str, int]
    mos_by_state: dict[str, int]
    material_debt: DebtFigures
    late_spks: int
    open_alerts: dict[str, int]


class DailyReportSummary(BaseModel):
    """A stored daily report, as listed."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    report_date: date
    scheduled_for: datetime
    generated_at: datetime


class DailyReportOut(DailyReportSummary):
    """A stored daily report with its figures."""

    data: DailyReportData
