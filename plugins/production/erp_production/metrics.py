"""Business gauges of production for /metrics (``erp_metrics`` hook): one cheap aggregate each."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_production.daily import site_today
from erp_production.debt import OPEN_STATES, open_debt_value
from erp_production.models import DailyInput, MaterialDebt, Spk


def output_today(session: Session) -> Iterable[Metric]:
    """Good output entered for today (the site's calendar day), per department."""
    rows = session.execute(
        select(Spk.department, func.sum(DailyInput.good))
        .join(Spk, Spk.id == DailyInput.spk_id)
        .where(DailyInput.work_date == site_today(session))
        .group_by(Spk.department)
    ).all()
    gauge = GaugeMetricFamily(
        "erp_production_output_today_pieces",
        "Good output entered for today (site time zone), by department.",
        labels=["department"],
    )
    for department, good in rows:
        gauge.add_metric([department], float(good or 0))
    yield gauge


def open_material_debt(session: Session) -> Iterable[Metric]:
    """Open (unsettled) material debt: its value in the site currency and the number of debts."""
    open_count = session.scalar(
        select(func.count()).select_from(MaterialDebt).where(MaterialDebt.state.in_(OPEN_STATES))
    )
    yield GaugeMetricFamily(
        "erp_production_open_debt_value_idr",
        "Value of open material debt (unsettled quantity x unit value), in IDR.",
        value=float(open_debt_value(session)),
    )
    yield GaugeMetricFamily(
        "erp_production_open_debts",
        "Material debts still open (pending approval, or approved and not fully settled).",
        value=float(open_count or 0),
    )
