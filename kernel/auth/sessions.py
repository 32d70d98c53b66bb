"""The session store: one record per login, checked on every request, in Redis or in process.

A session is a refresh-token family: it remembers the one refresh token id that may be used next.
Presenting any other (already spent) refresh token of the family revokes the session, which also kills
its access tokens at once, since every request checks the session exists.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

KEY_PREFIX = "erp:auth:"
EPOCH_KEY = f"{KEY_PREFIX}principal-epoch"


@dataclass(frozen=True)
class SessionRecord:
    """A live session: whose it is, which refresh token comes next, when it ends (epoch seconds)."""

    session_id: str
    user_id: int
    refresh_jti: str
    expires_at: int


class Rotation(Enum):
    """Outcome of presenting a refresh token."""

    ROTATED = "rotated"
    REUSED = "reused"  # a spent token: the family is revoked
    UNKNOWN = "unknown"  # no such session (expired, logged out or revoked)


class SessionStore(Protocol):
    """What the auth service needs from a session store."""

    def create(self, record: SessionRecord) -> None:
        """Store a new session until its expiry."""

    def get(self, session_id: str) -> SessionRecord | None:
        """The live session, or None."""

    def get_with_epoch(self, session_id: str) -> tuple[SessionRecord | None, int]:
        """The live session (or None) and the current principal epoch, in one round trip."""

    def bump_epoch(self) -> None:
        """Advance the principal epoch: every cached principal of every worker is stale."""

    def rotate(self, session_id: str, presented_jti: str, next_jti: str) -> Rotation:
        """Atomically swap the expected refresh id; a mismatch revokes the session."""

    def revoke(self, session_id: str) -> None:
        """End one session now."""

    def revoke_user(self, user_id: int) -> int:
        """End every session of a user now; returns how many there were."""


class MemorySessionStore:
    """In-process store for the embedded single-process server (and SQLite sites)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, SessionRecord] = {}
        self._epoch = 0

    def _live(self, session_id: str) -> SessionRecord | None:
        record = self._sessions.get(session_id)
        if record is not None and record.expires_at <= time.time():
            del self._sessions[session_id]
            return None
        return record

    def create(self, record: SessionRecord) -> None:
        """Store a new session until its expiry."""
        with self._lock:
            self._sessions[record.session_id] = record

    def get(self, session_id: str) -> SessionRecord | None:
        """The live session, or None."""
        with self._lock:
            return self._live(session_id)

    def get_with_epoch(self, session_id: str) -> tuple[SessionRecord | None, int]:
        """The live session (or None) and the current principal epoch."""
        with self._lock:
            return self._live(session_id), self._epoch

    def bump_epoch(self) -> None:
        """Advance the principal epoch."""
        with self._lock:
            self._epoch += 1

    def rotate(self, session_id: str, presented_jti: str, next_jti: str) -> Rotation:
        """Atomically swap the expected refresh id; a mismatch revokes the session."""
        with self._lock:
            record = self._live(session_id)
            if record is None:
                return Rotation.UNKNOWN
            if record.refresh_jti != presented_jti:
                del self._sessions[session_id]
                return Rotation.REUSED
            self._sessions[session_id] = SessionRecord(
                session_id, record.user_id, next_jti, record.expires_at
            )
            return Rotation.ROTATED

    def revoke(self, session_id: str) -> None:
        """End one session now."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def revoke_user(self, user_id: int) -> int:
        """End every session of a user now; returns how many there were."""
        with self._lock:
            doomed = [sid for sid, r in self._sessions.items() if r.user_id == user_id]
            for sid in doomed:
                del self._sessions[sid]
            return len(doomed)


# Compare-and-swap of the expected refresh id in one round trip: two concurrent refreshes with the same
# token cannot both win, and a spent token deletes the session in the same atomic step.
_ROTATE = """
local current = redis.call('HGET', KEYS[1], 'refresh_jti')
if not current then return 0 end
if current ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[3])
  return -1
end
redis.call('HSET', KEYS[1], 'refresh_jti', ARGV[2])
return 1
"""


class RedisSessionStore:
    """Sessions in Redis, shared by every API worker and server."""

    def __init__(self, client: Any) -> None:
        self._redis = client
        self._rotate = client.register_script(_ROTATE)

    @staticmethod
    def _key(session_id: str) -> str:
        return f"{KEY_PREFIX}session:{session_id}"

    @staticmethod
    def _user_key(user_id: int) -> str:
        return f"{KEY_PREFIX}user-sessions:{user_id}"

    def create(self, record: SessionRecord) -> None:
        """Store a new session until its expiry."""
        ttl = max(1, record.expires_at - int(time.time()))
        pipe = self._redis.pipeline()
        pipe.hset(
            self._key(record.session_id),
            mapping={
                "user_id": record.user_id,
                "refresh_jti": record.refresh_jti,
                "expires_at": record.expires_at,
            },
        )
        pipe.expire(self._key(record.session_id), ttl)
        pipe.sadd(self._user_key(record.user_id), record.session_id)
        pipe.expire(self._user_key(record.user_id), ttl, gt=True)
        pipe.expire(self._user_key(record.user_id), ttl, nx=True)
        pipe.execute()

    def get(self, session_id: str) -> SessionRecord | None:
        """The live session, or None."""
        return self._record(session_id, self._redis.hgetall(self._key(session_id)))

    @staticmethod
    def _record(session_id: str, data: dict[bytes, bytes]) -> SessionRecord | None:
        if not data:
            return None
        return SessionRecord(
            session_id, int(data[b"user_id"]), data[b"refresh_jti"].decode(), int(data[b"expires_at"])
        )

    def get_with_epoch(self, session_id: str) -> tuple[SessionRecord | None, int]:
        """The live session (or None) and the current principal epoch, in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._key(session_id))
        pipe.get(EPOCH_KEY)
        data, epoch = pipe.execute()
        return self._record(session_id, data), int(epoch or 0)

    def bump_epoch(self) -> None:
        """Advance the principal epoch (shared by every worker and server of the site)."""
        self._redis.incr(EPOCH_KEY)

    def rotate(self, session_id: str, presented_jti: str, next_jti: str) -> Rotation:
        """Atomically swap the expected refresh id; a mismatch revokes the session."""
        record = self.get(session_id)
        user_key = self._user_key(record.user_id) if record else f"{KEY_PREFIX}none"
        result = int(
            self._rotate(keys=[self._key(session_id), user_key], args=[presented_jti, next_jti, session_id])
        )
        return {1: Rotation.ROTATED, -1: Rotation.REUSED}.get(result, Rotation.UNKNOWN)

    def revoke(self, session_id: str) -> None:
        """End one session now."""
        record = self.get(session_id)
        pipe = self._redis.pipeline()
        pipe.delete(self._key(session_id))
        if record is not None:
            pipe.srem(self._user_key(record.user_id), session_id)
        pipe.execute()

    def revoke_user(self, user_id: int) -> int:
        """End every session of a user now; returns how many there were."""
        sids = [s.decode() for s in self._redis.smembers(self._user_key(user_id))]
        pipe = self._redis.pipeline()
        for sid in sids:
            pipe.delete(self._key(sid))
        pipe.delete(self._user_key(user_id))
        results = pipe.execute()
        return sum(int(r) for r in results[:-1])
