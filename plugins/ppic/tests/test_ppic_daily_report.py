"""The 08:00 daily report: one stored report per day (a second run is a no-op), its figures equal the
data, the API lists and returns it; the job is declared with the kernel scheduler."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from erp_ppic.alerts import raise_alert
from erp_ppic.daily_report import daily_report_job
from erp_ppic.models_live import DailyReport
from erp_production.daily import site_today
from erp_production.models import DailyInput, ManufacturingOrder, MaterialDebt, Spk
from fastapi.testclient import TestClient
from ppic_live_testkit import Plant
from sqlalchemy import func, select

from kernel.app import create_app
from kernel.scheduler import PeriodicJob
from kernel.testing import create_test_user, login_headers

API = "/api/v1/ppic"
D = Decimal


def test_daily_report_job_stores_one_report_per_day_with_figures_equal_to_the_data(plant: Plant) -> None:
    f = plant
    op = f.user("Admin Cutting", "Cutting").username
    tz = ZoneInfo(f.site.settings.timezone)
    with f.session() as s:
        today = site_today(s)
    day = today - timedelta(days=1)
    f.stock_in("FAB", "CUTTING", "20")
    cut, emb, *_ = f.release(batch="REP-1")
    f.daily_input(cut.id, day - timedelta(days=1), "10", user=op)  # the day before: not in the report
    f.daily_input(cut.id, day, "30", defect="2", rework="1.5", user=op)  # FAB short: debt
    f.deliver(cut.id, "25")
    f.daily_input(emb.id, day, "20", defect="1", user=op)
    in_day = datetime.combine(day, time(10), tzinfo=tz)
    f.inspect(checkpoint="after_cutting", spk_id=cut.id, inspected="30", passed="27", scrap="3", at=in_day)
    f.inspect(checkpoint="after_cutting", spk_id=cut.id, inspected="5", passed="5")  # today: not in it
    with f.session() as s:
        raise_alert(
            s, key="r:1", type="qc_fail", severity="critical", subject="r:1", title="t", raised_at=in_day
        )
        raise_alert(s, key="r:2", type="shortage", severity="warning", subject="r:2", title="t")
    # Started and completed "on the report day": the services stamp now, so place them in the day.
    with f.session() as s:
        for spk_id in (cut.id, emb.id):
            row = s.get(Spk, spk_id)
            assert row is not None
            row.started_at = in_day
        row = s.get(Spk, cut.id)
        assert row is not None
        row.state, row.completed_at = "completed", in_day + timedelta(hours=5)

    at_eight = datetime.combine(today, time(8), tzinfo=tz)
    with f.session() as s:
        daily_report_job(s, at_eight)
    with f.session() as s:
        daily_report_job(s, at_eight)  # again (a second scheduler, a retry): nothing changes
        daily_report_job(s, at_eight + timedelta(hours=3))  # later the same day: still that day's report
    with f.session() as s:
        reports = list(s.scalars(select(DailyReport)))
        assert len(reports) == 1
        report = reports[0]
        assert report.report_date == day and report.scheduled_for == at_eight
        data: dict[str, Any] = report.data
        # Independent computation of the figures.
        rows = s.execute(
            select(DailyInput.good, DailyInput.defect, DailyInput.rework, Spk.department)
            .join(Spk, Spk.id == DailyInput.spk_id)
            .where(DailyInput.work_date == day)
        ).all()
        debts = list(s.scalars(select(MaterialDebt)))
        mo_count = s.scalar(select(func.count()).select_from(ManufacturingOrder))
    expected_production = []
    for dept in ("Cutting", "Embroidery"):
        g = sum((r[0] for r in rows if r[3] == dept), D(0))
        d = sum((r[1] for r in rows if r[3] == dept), D(0))
        w = sum((r[2] for r in rows if r[3] == dept), D(0))
        expected_production.append(
            {
                "department": dept,
                "good": g,
                "defect": d,
                "rework": w,
                "yield_pct": (g * 100 / (g + d + w)).quantize(D("0.01")),
                "spks_started": 1,
                "spks_completed": 1 if dept == "Cutting" else 0,
            }
        )
    got_production = [
        {k: (D(v) if k in ("good", "defect", "rework", "yield_pct") else v) for k, v in row.items()}
        for row in data["production"]
    ]
    assert got_production == expected_production
    assert got_production[0]["good"] == 30 and got_production[0]["yield_pct"] == D("89.55")
    qc = {k: D(v) if isinstance(v, str) else v for k, v in data["qc"].items()}
    assert qc == {
        "inspections": 1,
        "failed": 1,
        "inspected": 30,
        "passed": 27,
        "rework": 0,
        "scrap": 3,
        "pass_rate": D("90.00"),
    }
    assert data["alerts_raised"] == {"qc_fail": 1}
    assert data["mos_by_state"]["in_progress"] == 1 and sum(data["mos_by_state"].values()) == mo_count
    open_debts = [x for x in debts if x.state in ("pending", "approved")]
    assert data["material_debt"]["open"] == len(open_debts) >= 1
    assert D(data["material_debt"]["value"]) == sum(
        ((x.quantity - x.settled_qty) * x.unit_value for x in open_debts), D(0)
    )
    assert data["late_spks"] == 0
    assert data["open_alerts"] == {"info": 0, "warning": 1, "critical": 1}

    client = TestClient(create_app(f.site.settings, site=f.site))
    with client:
        user, password = create_test_user(f.site, "PPIC Admin")
        h = login_headers(client, user.username, password)
        listed = client.get(f"{API}/reports/daily", headers=h).json()
        assert listed["total"] == 1 and listed["items"][0]["report_date"] == day.isoformat()
        one = client.get(f"{API}/reports/daily/{day.isoformat()}", headers=h)
        assert one.status_code == 200 and one.json()["data"]["production"] == data["production"]
        assert client.get(f"{API}/reports/daily/{today.isoformat()}", headers=h).status_code == 404
        assert client.get(f"{API}/reports/daily/not-a-date", headers=h).status_code == 422
        user, password = create_test_user(f.site, "Security")
        assert (
            client.get(
                f"{API}/reports/daily", headers=login_headers(client, user.username, password)
            ).status_code
            == 403
        )


def test_ppic_declares_its_periodic_jobs_to_the_kernel_scheduler(plant: Plant) -> None:
    jobs = {
        job.name: job
        for plugin, declared in plant.site.registry.collect("erp_periodic_jobs")
        if plugin.name == "ppic"
        for job in declared
    }
    assert set(jobs) == {"ppic.daily_report", "ppic.alerts"}
    assert all(isinstance(job, PeriodicJob) for job in jobs.values())
    assert jobs["ppic.daily_report"].cron == "0 8 * * *" and jobs["ppic.alerts"].every_seconds == 60
    tz = ZoneInfo(plant.site.settings.timezone)
    fire = jobs["ppic.daily_report"].due_at(datetime(2026, 3, 2, 3, 30, tzinfo=ZoneInfo("UTC")), tz)
    assert fire is not None and fire.astimezone(tz).time() == time(8)
