"""Retry policy of event deliveries: how many attempts, how long between them, how long each may run."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from kernel.config import Settings


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts are counted in the database when an attempt starts, so a handler that kills its worker
    still uses one up; after ``max_attempts`` the delivery is dead until an operator redelivers it."""

    max_attempts: int
    backoff_base: float
    backoff_max: float
    time_limit: float
    lease_margin: float
    redeliver_after: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy configured for the site (``events_*`` settings)."""
        return cls(
            max_attempts=settings.events_max_attempts,
            backoff_base=settings.events_backoff_base,
            backoff_max=settings.events_backoff_max,
            time_limit=settings.events_time_limit,
            lease_margin=settings.events_lease_margin,
            redeliver_after=settings.events_redeliver_after,
        )

    def backoff(self, attempts: int) -> timedelta:
        """Wait before the attempt after ``attempts`` failed ones: exponential, capped, with jitter."""
        seconds = min(self.backoff_max, self.backoff_base * 2 ** max(0, attempts - 1))
        # Jitter (up to +25%) spreads retries of many events failing together (a dependency down).
        return timedelta(seconds=seconds * random.uniform(1.0, 1.25))

    @property
    def lease(self) -> timedelta:
        """How long a started attempt owns its delivery before it is presumed dead."""
        return timedelta(seconds=self.time_limit + self.lease_margin)

    @property
    def redelivery(self) -> timedelta:
        """How long a published delivery may wait unstarted before the relay publishes it again."""
        return timedelta(seconds=self.redeliver_after)
