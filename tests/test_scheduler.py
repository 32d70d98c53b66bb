"""Periodic jobs: cron parsing, due times in the site timezone, once per period with two schedulers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from erp_example.models import Note
from sqlalchemy import func, select

from kernel.cron import Cron, CronError
from kernel.scheduler import JobRun, PeriodicJob, collect_jobs, run_due_jobs

JAKARTA = ZoneInfo("Asia/Jakarta")


def test_cron_previous_fire_times() -> None:
    daily_8 = Cron.parse("0 8 * * *")
    assert daily_8.previous(datetime(2026, 3, 5, 9, 30)) == datetime(2026, 3, 5, 8, 0)
    assert daily_8.previous(datetime(2026, 3, 5, 7, 59)) == datetime(2026, 3, 4, 8, 0)
    every_15 = Cron.parse("*/15 * * * *")
    assert every_15.previous(datetime(2026, 3, 5, 9, 44, 59)) == datetime(2026, 3, 5, 9, 30)
    weekdays = Cron.parse("30 7 * * 1-5")  # Saturday 7 March 2026 -> Friday 6 March
    assert weekdays.previous(datetime(2026, 3, 7, 12, 0)) == datetime(2026, 3, 6, 7, 30)
    sunday = Cron.parse("0 0 * * 7")
    assert sunday.previous(datetime(2026, 3, 10, 0, 0)) == datetime(2026, 3, 8, 0, 0)


@pytest.mark.parametrize("bad", ["* * * *", "61 * * * *", "*/0 * * * *", "a b c d e", "5-1 * * * *"])
def test_cron_rejects_malformed_expressions(bad: str) -> None:
    with pytest.raises(CronError):
        Cron.parse(bad)


def test_cron_job_is_due_in_the_site_timezone() -> None:
    job = PeriodicJob(name="x.report", run=lambda s, t: None, cron="0 8 * * *")
    now = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
    assert job.due_at(now, JAKARTA) == datetime(2026, 3, 5, 1, 0, tzinfo=UTC)  # 08:00 WIB


def test_job_needs_exactly_one_schedule() -> None:
    with pytest.raises(ValueError):
        PeriodicJob(name="x.y", run=lambda s, t: None)
    with pytest.raises(ValueError):
        PeriodicJob(name="x.y", run=lambda s, t: None, cron="* * * * *", every_seconds=5)


def test_erp_periodic_jobs_collects_the_plugins_jobs(make_site) -> None:
    names = [job.name for job in collect_jobs(make_site(["example"]))]
    assert names == ["kernel.events_retention", "example.heartbeat"]


def test_a_period_runs_once_and_failures_are_recorded(make_site) -> None:
    site = make_site(["example"])
    now = datetime(2026, 3, 5, 1, 0, 0, 500000, tzinfo=UTC)

    def explode(session, scheduled_for) -> None:
        raise RuntimeError("boom")

    jobs = [*collect_jobs(site), PeriodicJob(name="example.explode", run=explode, every_seconds=60)]
    assert [name for name, _ in run_due_jobs(site, jobs, now)] == ["example.heartbeat", "example.explode"]
    assert run_due_jobs(site, jobs, now + timedelta(milliseconds=300)) == []  # same periods: nothing
    with site.sessions() as session:
        runs = {r.job: r for r in session.scalars(select(JobRun))}
        assert runs["example.heartbeat"].status == "done"
        assert runs["example.explode"].status == "failed" and "boom" in (runs["example.explode"].error or "")
        assert session.scalar(select(func.count()).select_from(Note)) == 1


def test_missed_periods_older_than_max_delay_are_skipped(make_site) -> None:
    site = make_site(["example"])
    job = PeriodicJob(
        name="example.daily", run=lambda s, t: None, cron="0 8 * * *", max_delay=timedelta(hours=1)
    )
    late = datetime(2026, 3, 5, 5, 0, tzinfo=UTC)  # 12:00 WIB, four hours after 08:00
    assert run_due_jobs(site, [job], late) == []


@pytest.mark.slow
def test_two_schedulers_run_each_period_exactly_once(make_site, tmp_path: Path) -> None:
    site = make_site(["example"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERP_")}
    env.update(
        {
            "ERP_DATABASE_URL": site.settings.database_url,
            "ERP_PLUGINS": '["example"]',
            "ERP_SECRET_KEY": site.settings.secret_key,
            "ERP_LOG_JSON": "false",
        }
    )
    erp = str(Path(sys.executable).parent / "erp")
    procs = [
        subprocess.Popen(
            [erp, "scheduler", "--tick", "0.2"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        # Until at least three periods ran (process start-up is slow on a loaded 2-core machine).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with site.sessions() as session:
                done = session.scalar(select(func.count()).select_from(JobRun).where(JobRun.status == "done"))
            if (done or 0) >= 4:
                break
            time.sleep(0.5)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
    with site.sessions() as session:
        runs = session.scalars(select(JobRun).where(JobRun.job == "example.heartbeat")).all()
        notes = session.scalar(select(func.count()).select_from(Note).where(Note.text.like("heartbeat %")))
    periods = [r.scheduled_for for r in runs]
    assert len(periods) >= 3
    assert len(periods) == len(set(periods)) == notes  # one run and one effect per period
    assert all(r.status == "done" for r in runs)
