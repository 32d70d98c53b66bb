"""The per-site auth machinery: password hasher, session store and failure counters.

Redis-backed when the site has ``redis_url`` (shared by every worker), in-process otherwise (the
embedded single-process server). Built once per site and kept in ``site.services["auth"]``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import PasswordHasher

from kernel.auth.passwords import hasher_for
from kernel.auth.principal_cache import PrincipalCache
from kernel.auth.sessions import MemorySessionStore, RedisSessionStore, SessionStore
from kernel.auth.throttle import FailureCounter, MemoryFailureCounter, RedisFailureCounter

if TYPE_CHECKING:
    from kernel.site import Site

_build_lock = threading.Lock()


@dataclass
class AuthRuntime:
    """What login and every authenticated request use."""

    hasher: PasswordHasher
    sessions: SessionStore
    failures: FailureCounter
    # Verified against when the username is unknown, so that answer takes as long as a wrong password.
    dummy_hash: str
    principals: PrincipalCache


def auth_runtime(site: Site) -> AuthRuntime:
    """The site's auth runtime, built on first use."""
    runtime = site.services.get("auth")
    if runtime is None:
        with _build_lock:
            runtime = site.services.get("auth")
            if runtime is None:
                runtime = site.services["auth"] = _build(site)
    assert isinstance(runtime, AuthRuntime)
    return runtime


def _build(site: Site) -> AuthRuntime:
    hasher = hasher_for(site.settings)
    sessions: SessionStore
    failures: FailureCounter
    if site.settings.redis_url:
        import redis

        client = redis.Redis.from_url(site.settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        sessions, failures = RedisSessionStore(client), RedisFailureCounter(client)
    else:
        sessions, failures = MemorySessionStore(), MemoryFailureCounter()
    return AuthRuntime(
        hasher=hasher,
        sessions=sessions,
        failures=failures,
        dummy_hash=hasher.hash("no such user: constant-time placeholder"),
        principals=PrincipalCache(ttl=site.settings.principal_cache_seconds),
    )
