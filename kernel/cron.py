"""A small cron expression parser: five fields (minute hour day-of-month month day-of-week).

Supports ``*``, numbers, ranges ``a-b``, lists ``a,b`` and steps ``*/n`` / ``a-b/n``. Day-of-week 0 and 7
are Sunday. As in cron, when both day fields are restricted a day matches if either matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 7))


class CronError(ValueError):
    """The expression is not valid cron."""


def _parse_field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise CronError(f"{name}: step must be at least 1")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(body)
        if not (low <= start <= end <= high):
            raise CronError(f"{name}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed cron schedule; ``previous(t)`` / ``next(t)`` find fire times (naive or aware)."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    day_restricted: bool
    weekday_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        """Parse ``expression``; raises CronError when malformed."""
        parts = expression.split()
        if len(parts) != 5:
            raise CronError(f"cron needs 5 fields, got {len(parts)}: {expression!r}")
        try:
            fields = [_parse_field(p, n, lo, hi) for p, (n, lo, hi) in zip(parts, _FIELDS, strict=True)]
        except ValueError as exc:
            raise CronError(f"{expression!r}: {exc}") from None
        weekdays = frozenset(0 if d == 7 else d for d in fields[4])
        return cls(
            expression, fields[0], fields[1], fields[2], fields[3], weekdays, parts[2] != "*", parts[4] != "*"
        )

    def matches(self, moment: datetime) -> bool:
        """True when ``moment`` (to the minute) is a fire time."""
        return moment.minute in self.minutes and moment.hour in self.hours and self._day_matches(moment)

    def previous(self, moment: datetime, *, horizon: timedelta = timedelta(days=366)) -> datetime | None:
        """The latest fire time at or before ``moment`` (within ``horizon``), or None."""
        candidate = moment.replace(second=0, microsecond=0)
        limit = candidate - horizon
        while candidate >= limit:
            if candidate.hour not in self.hours or not self._day_matches(candidate):
                # Jump to the last minute of the previous hour.
                candidate = candidate.replace(minute=0) - timedelta(minutes=1)
                continue
            if self.matches(candidate):
                return candidate
            candidate -= timedelta(minutes=1)
        return None

    def _day_matches(self, moment: datetime) -> bool:
        if moment.month not in self.months:
            return False
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok
