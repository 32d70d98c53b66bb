"""Per-process cache of principals, so an authenticated request does not reload roles and grants.

Correctness before speed: a cached principal is used only while the site's *principal epoch* is the
one it was loaded under. The epoch lives beside the sessions (Redis for a shared store, so every worker
and server sees it; in process for the embedded single-process server) and is read in the same round
trip as the session check. Any committed change to a user's activity, department or roles, or to a
role's grants, bumps the epoch right after the commit (``kernel.auth.invalidation``), so every worker
reloads on its next request: revoking a role or deactivating a user takes effect as fast as without
a cache. Entries also expire after ``ttl`` seconds, which bounds what an edit made by hand in SQL,
past the application, could leave stale.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from kernel.metrics import cache_hit, cache_miss
from kernel.rbac.principal import Principal

CACHE_NAME = "principals"


class PrincipalCache:
    """LRU of ``session id -> (epoch, loaded at, principal)``, bounded in size and age."""

    def __init__(self, max_entries: int = 4096, ttl: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[int, float, Principal]] = OrderedDict()
        self.max_entries = max_entries
        self.ttl = ttl

    def get(self, session_id: str, epoch: int) -> Principal | None:
        """The principal cached for this session under ``epoch`` and not older than the ttl, else None."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(session_id)
            if entry is not None and entry[0] == epoch and now - entry[1] < self.ttl:
                self._entries.move_to_end(session_id)
                principal = entry[2]
            else:
                principal = None
        if principal is None:
            cache_miss(CACHE_NAME)
        else:
            cache_hit(CACHE_NAME)
        return principal

    def put(self, session_id: str, epoch: int, principal: Principal) -> None:
        """Remember ``principal`` (loaded for this session) as loaded under ``epoch``."""
        with self._lock:
            self._entries[session_id] = (epoch, time.monotonic(), principal)
            self._entries.move_to_end(session_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry (tests, and stores that lost their epoch)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
