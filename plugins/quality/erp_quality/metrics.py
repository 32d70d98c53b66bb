"""Business gauges of quality for /metrics (``erp_metrics`` hook): one cheap aggregate each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_quality.models import Inspection
from kernel.clock import utcnow
from kernel.site import site_of


def pass_rate_today(session: Session) -> Iterable[Metric]:
    """Units inspected today (site calendar day) per department, and the share that passed.

    Pass rate as in the defect analysis report: (inspected - scrap) / inspected.
    """
    tz = ZoneInfo(site_of(session).settings.timezone)
    start = datetime.combine(utcnow().astimezone(tz).date(), time.min, tzinfo=tz)
    rows = session.execute(
        select(Inspection.department, func.sum(Inspection.inspected_qty), func.sum(Inspection.scrap_qty))
        .where(Inspection.inspected_at >= start, Inspection.inspected_at < start + timedelta(days=1))
        .group_by(Inspection.department)
    ).all()
    inspected = GaugeMetricFamily(
        "erp_quality_inspected_today_pieces",
        "Units inspected today (site time zone), by department.",
        labels=["department"],
    )
    ratio = GaugeMetricFamily(
        "erp_quality_pass_ratio_today",
        "Share of today's inspected units that passed, (inspected - scrap) / inspected, by department.",
        labels=["department"],
    )
    for department, total, scrap in rows:
        if not total:
            continue
        inspected.add_metric([department], float(total))
        ratio.add_metric([department], float((total - (scrap or 0)) / total))
    yield inspected
    yield ratio
