"""Real-time fan-out for dashboards: publish on a channel, every API worker's WebSocket clients receive.

Redis pub/sub when ``redis_url`` is set (so clients of every uvicorn worker see every message); an
in-process implementation on the embedded default. Nothing else in the code knows which one runs.
Publish with ``publish_after_commit`` from services: a message about a change goes out only once the
change is committed, never for a rolled-back one.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from kernel.site import Site

CHANNEL_PREFIX = "erp:rt:"
_PENDING = "erp_realtime_pending"


class Broadcaster(Protocol):
    """Publish/subscribe on named channels."""

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every current subscriber of ``channel`` (any process)."""

    def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        """Yield the messages published on ``channel`` from now on."""

    def close(self) -> None:
        """Release connections."""


class InProcessBroadcaster:
    """Fan-out inside one process (embedded default): asyncio queues fed thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[
            str, list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]
        ] = {}

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, []))
        for loop, queue in targets:
            loop.call_soon_threadsafe(queue.put_nowait, message)

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        entry = (asyncio.get_running_loop(), asyncio.Queue[dict[str, Any]]())
        with self._lock:
            self._subscribers.setdefault(channel, []).append(entry)
        try:
            while True:
                yield await entry[1].get()
        finally:
            with self._lock:
                self._subscribers[channel].remove(entry)

    def close(self) -> None:
        with self._lock:
            self._subscribers.clear()


class RedisBroadcaster:
    """Fan-out across processes and machines through Redis pub/sub."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._client = redis.Redis.from_url(url)

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        self._client.publish(CHANNEL_PREFIX + channel, json.dumps(message, default=str))

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        await pubsub.subscribe(CHANNEL_PREFIX + channel)
        try:
            while True:
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0)
                if item is not None and item["type"] == "message":
                    yield json.loads(item["data"])
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()
            await client.aclose()

    def close(self) -> None:
        self._client.close()


def get_broadcaster(site: Site) -> Broadcaster:
    """The site's broadcaster, created on first use."""
    broadcaster: Broadcaster | None = site.services.get("broadcaster")
    if broadcaster is None:
        url = site.settings.redis_url
        broadcaster = RedisBroadcaster(url) if url else InProcessBroadcaster()
        site.services["broadcaster"] = broadcaster
        site.services.setdefault("on_shutdown", []).append(lambda s: broadcaster.close())
    return broadcaster


def publish_after_commit(
    session: Session, broadcaster: Broadcaster, channel: str, message: dict[str, Any]
) -> None:
    """Queue ``message`` on ``session``: published when it commits, dropped when it rolls back."""
    pending: list[tuple[Broadcaster, str, dict[str, Any]]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []

        def flush(sess: Session) -> None:
            for target, chan, msg in sess.info.pop(_PENDING, []):
                target.publish(chan, msg)

        def drop(sess: Session) -> None:
            sess.info.pop(_PENDING, None)

        event.listen(session, "after_commit", flush, once=True)
        event.listen(session, "after_rollback", drop, once=True)
    pending.append((broadcaster, channel, message))
