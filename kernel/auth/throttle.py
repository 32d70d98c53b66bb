"""Login throttling: failure counters per account and per client address, with a lockout window.

A counter starts at the first failure and lives ``login_lockout_seconds``; at the limit every further
attempt is refused until it expires, even with the right password. Redis counters are shared by all
workers; the in-process fallback serves the embedded single-process server.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

KEY_PREFIX = "erp:auth:login-failures:"


class FailureCounter(Protocol):
    """Counts failures per key within a window."""

    def count(self, key: str) -> tuple[int, int]:
        """(failures so far, seconds until the window ends)."""

    def fail(self, key: str, window: int) -> int:
        """Add one failure; returns the new count."""

    def clear(self, key: str) -> None:
        """Forget the failures of ``key``."""


class MemoryFailureCounter:
    """In-process counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def count(self, key: str) -> tuple[int, int]:
        """(failures so far, seconds until the window ends)."""
        with self._lock:
            value, until = self._counts.get(key, (0, 0.0))
            remaining = until - time.monotonic()
            if remaining <= 0:
                self._counts.pop(key, None)
                return 0, 0
            return value, int(remaining) + 1

    def fail(self, key: str, window: int) -> int:
        """Add one failure; returns the new count."""
        with self._lock:
            value, until = self._counts.get(key, (0, 0.0))
            now = time.monotonic()
            if until <= now:
                value, until = 0, now + window
            self._counts[key] = (value + 1, until)
            return value + 1

    def clear(self, key: str) -> None:
        """Forget the failures of ``key``."""
        with self._lock:
            self._counts.pop(key, None)


class RedisFailureCounter:
    """Counters in Redis: INCR, with the window set by the first failure."""

    def __init__(self, client: Any) -> None:
        self._redis = client

    def count(self, key: str) -> tuple[int, int]:
        """(failures so far, seconds until the window ends)."""
        pipe = self._redis.pipeline()
        pipe.get(KEY_PREFIX + key)
        pipe.ttl(KEY_PREFIX + key)
        value, ttl = pipe.execute()
        return (int(value), max(int(ttl), 1)) if value is not None else (0, 0)

    def fail(self, key: str, window: int) -> int:
        """Add one failure; returns the new count."""
        pipe = self._redis.pipeline()
        pipe.incr(KEY_PREFIX + key)
        pipe.expire(KEY_PREFIX + key, window, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def clear(self, key: str) -> None:
        """Forget the failures of ``key``."""
        self._redis.delete(KEY_PREFIX + key)
