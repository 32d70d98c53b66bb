"""Business gauge of PPIC for /metrics (``erp_metrics`` hook): open alerts."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_ppic.models_live import LEVELS, OPEN_STATUSES, SEVERITIES, Alert


def alerts_open(session: Session) -> Iterable[Metric]:
    """Open alerts (pending or acknowledged) by severity and escalation level (zeros included)."""
    counts = {
        (severity, level): n
        for severity, level, n in session.execute(
            select(Alert.severity, Alert.escalation_level, func.count())
            .where(Alert.status.in_(OPEN_STATUSES))
            .group_by(Alert.severity, Alert.escalation_level)
        ).tuples()
    }
    gauge = GaugeMetricFamily(
        "erp_ppic_alerts_open",
        "Alerts pending or acknowledged, by severity and escalation level.",
        labels=["severity", "escalation_level"],
    )
    for severity in SEVERITIES:
        for level in LEVELS:
            gauge.add_metric([severity, level], float(counts.get((severity, level), 0)))
    yield gauge
