"""Planning weeks (``W05-2026``): the week of an MO, their order, and the factory's calendar day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kernel.site import site_of

UNSCHEDULED = "unscheduled"
"""The bucket of MOs with neither a week nor a planned end; it sorts after every week."""


def iso_week(day: date) -> str:
    """``W05-2026`` of a date."""
    year, week, _ = day.isocalendar()
    return f"W{week:02d}-{year}"


def week_of(week: str | None, planned_end: date | None) -> str:
    """An MO's planning week: its own, else the ISO week of its planned end, else ``unscheduled``."""
    if week:
        return week
    return iso_week(planned_end) if planned_end else UNSCHEDULED


def week_sort_key(week: str) -> tuple[int, int]:
    """Chronological order of weeks (``unscheduled`` last)."""
    if week == UNSCHEDULED:
        return (9999, 99)
    return (int(week[4:]), int(week[1:3]))


def local_date(session: Session, moment: datetime | None) -> date | None:
    """The calendar day of a UTC moment in the site's time zone."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(site_of(session).settings.timezone)).date()
