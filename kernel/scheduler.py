"""Periodic jobs declared by plugins, run once per period however many schedulers run.

A plugin returns ``PeriodicJob``s from ``erp_periodic_jobs()``. ``erp scheduler`` (or the embedded server)
wakes every second, works out each job's latest due time (cron in the site's timezone, or a fixed
interval) and claims it by inserting ``(job, scheduled_for)`` into ``kernel_job_run``, which is unique: the
scheduler whose insert wins runs the job, every other one skips it. A period missed while no scheduler
ran is caught up once if it is younger than the job's ``max_delay``.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column

from kernel.clock import utcnow
from kernel.cron import Cron
from kernel.db import Base, conflict_insert, unit_of_work
from kernel.plugins import PluginError
from kernel.site import Site

log = logging.getLogger("kernel.scheduler")


@dataclass(frozen=True)
class PeriodicJob:
    """A job a plugin wants run periodically.

    ``run(session, scheduled_for)`` does the work inside a transaction that commits when it returns.
    Give either ``cron`` (five fields, site timezone) or ``every_seconds``.
    """

    name: str
    run: Callable[[Session, datetime], None]
    cron: str | None = None
    every_seconds: int | None = None
    description: str = ""
    max_delay: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.every_seconds is None):
            raise ValueError(f"job {self.name!r}: give exactly one of cron or every_seconds")
        if self.cron is not None:
            Cron.parse(self.cron)
        if self.every_seconds is not None and self.every_seconds < 1:
            raise ValueError(f"job {self.name!r}: every_seconds must be at least 1")

    def due_at(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """The latest fire time at or before ``now`` (UTC-aware), or None."""
        if self.every_seconds is not None:
            epoch = int(now.timestamp())
            return datetime.fromtimestamp(epoch - epoch % self.every_seconds, UTC)
        assert self.cron is not None
        local = now.astimezone(tz).replace(tzinfo=None)
        fire = Cron.parse(self.cron).previous(local)
        return None if fire is None else fire.replace(tzinfo=tz).astimezone(UTC)


class JobRun(Base):
    """One claimed period of one job, with how it ended."""

    __tablename__ = "kernel_job_run"
    __table_args__ = (UniqueConstraint("job", "scheduled_for"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(200))
    scheduled_for: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))  # running | done | failed
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


def collect_jobs(site: Site) -> list[PeriodicJob]:
    """Every enabled plugin's periodic jobs; names must start with the plugin's name and be unique."""
    jobs: dict[str, PeriodicJob] = {}
    for plugin, contributed in site.registry.collect("erp_periodic_jobs"):
        for job in contributed or []:
            if not job.name.startswith(f"{plugin.name}."):
                raise PluginError(
                    f"plugin {plugin.name!r}: job {job.name!r} must be named '{plugin.name}.<job>'"
                )
            if job.name in jobs:
                raise PluginError(f"plugin {plugin.name!r}: job {job.name!r} is declared twice")
            jobs[job.name] = job
    return list(jobs.values())


def _claim(site: Site, job: PeriodicJob, scheduled_for: datetime) -> int | None:
    stmt = (
        conflict_insert(site.engine, JobRun)
        .values(job=job.name, scheduled_for=scheduled_for, status="running", started_at=utcnow())
        .on_conflict_do_nothing(index_elements=["job", "scheduled_for"])
        .returning(JobRun.id)
    )
    with unit_of_work(site.sessions) as session:
        run_id: int | None = session.execute(stmt).scalar()
    return run_id


def _finish(site: Site, run_id: int, status: str, error: str | None) -> None:
    with unit_of_work(site.sessions) as session:
        run = session.get(JobRun, run_id)
        assert run is not None
        run.status, run.finished_at, run.error = status, utcnow(), error


def run_due_jobs(
    site: Site, jobs: list[PeriodicJob], now: datetime | None = None
) -> list[tuple[str, datetime]]:
    """Claim and run every job whose current period nobody has claimed yet; returns what this call ran."""
    now = now or utcnow()
    tz = ZoneInfo(site.settings.timezone)
    ran = []
    for job in jobs:
        due = job.due_at(now, tz)
        if due is None or now - due > job.max_delay:
            continue
        run_id = _claim(site, job, due)
        if run_id is None:
            continue
        try:
            with unit_of_work(site.sessions) as session:
                job.run(session, due)
        except Exception:
            log.exception("periodic job failed", extra={"job": job.name, "scheduled_for": due.isoformat()})
            _finish(site, run_id, "failed", traceback.format_exc()[-4000:])
        else:
            _finish(site, run_id, "done", None)
        ran.append((job.name, due))
    return ran


class Scheduler:
    """Runs due jobs every ``tick`` seconds until stopped (in a thread or the foreground)."""

    def __init__(self, site: Site, tick: float = 1.0) -> None:
        self.site = site
        self.tick = tick
        self.jobs = collect_jobs(site)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self) -> None:
        """Loop until ``stop()``; a failing pass is logged and retried on the next tick."""
        while not self._stop.is_set():
            try:
                run_due_jobs(self.site, self.jobs)
            except Exception:
                log.exception("scheduler pass failed")
            self._stop.wait(self.tick - time.time() % self.tick)

    def start(self) -> None:
        """Run in a daemon thread (the embedded server does this)."""
        self._thread = threading.Thread(target=self.run_forever, name="erp-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
