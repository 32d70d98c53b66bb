"""The Dramatiq side: one broker per process (Redis, RabbitMQ or in-process), one delivery actor,
one queue per subscribing plugin (``<namespace>.events.<plugin>``), so a slow or failing plugin never
holds up another's messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dramatiq
from dramatiq import Broker, Message
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware, TimeLimit

from kernel.config import Settings

ACTOR_NAME = "erp_deliver_event"
DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


def queue_name(settings: Settings, plugin: str) -> str:
    """The queue carrying ``plugin``'s deliveries."""
    return f"{settings.broker_namespace}.events.{plugin}"


def build_broker(settings: Settings) -> Broker:
    """A fresh broker for ``settings.broker``.

    Only the TimeLimit middleware is installed: retries, backoff and dead letters are ours (counted in
    the database), so a message that kills its worker cannot loop forever in the broker's own retries.
    """
    ms = int(settings.events_time_limit * 1000)
    # Check the limit often enough that a short test limit is enforced close to on time.
    middleware: list[Middleware] = [TimeLimit(time_limit=ms, interval=min(1000, max(100, ms // 10)))]
    if settings.broker == "redis":
        import redis
        from dramatiq.brokers.redis import RedisBroker

        url = settings.broker_url or settings.redis_url or "redis://127.0.0.1:6379/0"
        # Timeouts so that a broker that went away fails a publish at once instead of hanging the relay.
        client = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=15
        )
        return RedisBroker(client=client, namespace=settings.broker_namespace, middleware=middleware)
    if settings.broker == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        # Publisher confirms: a message counts as published only once RabbitMQ has it.
        return RabbitmqBroker(
            url=settings.broker_url or DEFAULT_RABBITMQ_URL, confirm_delivery=True, middleware=middleware
        )
    return StubBroker(middleware=middleware)


Deliver = Callable[[uuid.UUID, str], object]


@dataclass
class EventBus:
    """A broker with the delivery actor declared on it and a queue per subscribing plugin."""

    settings: Settings
    broker: Broker
    actor: dramatiq.Actor[..., object]
    queues: dict[str, str]

    def publish(self, event_id: uuid.UUID, plugin: str) -> None:
        """Hand one (event, plugin) delivery to the broker; raises when the broker cannot take it."""
        message: Message[object] = Message(
            queue_name=self.queues.get(plugin) or queue_name(self.settings, plugin),
            actor_name=ACTOR_NAME,
            args=(str(event_id), plugin),
            kwargs={},
            options={},
        )
        self.broker.enqueue(message)

    def queues_for(self, plugins: Iterable[str] | None) -> set[str] | None:
        """Queue names of ``plugins`` (None: every queue), for a worker's ``--queues``."""
        if plugins is None:
            return None
        return {self.queues.get(p) or queue_name(self.settings, p) for p in plugins}

    def close(self) -> None:
        """Close the broker's connections."""
        self.broker.close()


def build_bus(
    settings: Settings, plugins: Iterable[str], deliver: Deliver, broker: Broker | None = None
) -> EventBus:
    """Declare the delivery actor (calling ``deliver(event_id, plugin)``) and one queue per plugin."""
    broker = broker or build_broker(settings)

    def deliver_event(event_id: str, plugin: str) -> None:
        deliver(uuid.UUID(event_id), plugin)

    actor: dramatiq.Actor[..., object] = dramatiq.Actor(
        deliver_event,
        broker=broker,
        actor_name=ACTOR_NAME,
        queue_name=queue_name(settings, "kernel"),
        priority=0,
        options={"time_limit": int(settings.events_time_limit * 1000)},
    )
    queues = {}
    for plugin in plugins:
        queues[plugin] = queue_name(settings, plugin)
        broker.declare_queue(queues[plugin])
    return EventBus(settings=settings, broker=broker, actor=actor, queues=queues)
