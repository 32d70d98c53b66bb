"""Response schemas of the event admin services (the future ``/api/v1/system/events`` routes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

DeliveryStatus = Literal["pending", "failed", "delivered", "dead"]


class DeliveryOut(BaseModel):
    """The delivery of an event to one subscribing plugin."""

    model_config = ConfigDict(from_attributes=True)

    plugin: str
    status: DeliveryStatus
    attempts: int
    published_at: datetime | None
    last_attempt_at: datetime | None
    handled_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None


class DeliveryDetail(DeliveryOut):
    """A delivery with the traceback of its last failed attempt."""

    last_traceback: str | None


class EventSummary(BaseModel):
    """An emitted event and the state of each of its deliveries."""

    id: uuid.UUID
    event: str
    version: int
    aggregate: str | None
    request_id: str | None
    emitted_at: datetime
    published_at: datetime | None
    status: DeliveryStatus
    deliveries: list[DeliveryOut]


class EventDetail(EventSummary):
    """An event with its payload and every delivery's last traceback."""

    payload: dict[str, Any]
    deliveries: list[DeliveryDetail]  # type: ignore[assignment]


class EventPage(BaseModel):
    """One page of events, newest first."""

    items: list[EventSummary]
    total: int
    limit: int
    offset: int
