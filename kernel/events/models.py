"""The event tables: the outbox (one row per emitted event), deliveries and the inbox.

``kernel_event_outbox`` is written in the emitter's transaction. The relay turns each committed row into
one ``kernel_event_delivery`` row per subscribing plugin (the state operators see and re-drive) and one
broker message each. ``kernel_event_inbox`` records, in the handler's own transaction, that a plugin has
handled an event; its primary key is what makes a second delivery of the same message harmless.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base

PENDING = "pending"
FAILED = "failed"
DELIVERED = "delivered"
DEAD = "dead"
STATUSES = (PENDING, FAILED, DELIVERED, DEAD)
OPEN_STATUSES = (PENDING, FAILED)
"""Deliveries still owed: published and not yet handled, or waiting for their next attempt."""


class OutboxEvent(Base):
    """An emitted event, committed with the business change that caused it."""

    __tablename__ = "kernel_event_outbox"

    # seq orders events (per aggregate) and keeps the relay's scan on an integer index; id is public.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))
    aggregate: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))
    emitted_at: Mapped[datetime]
    published_at: Mapped[datetime | None]

    __table_args__ = (
        # The relay's scan: only unpublished rows, which are few.
        Index(
            "ix_kernel_event_outbox_unpublished",
            "seq",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
        Index("ix_kernel_event_outbox_aggregate_seq", "aggregate", "seq"),
        Index("ix_kernel_event_outbox_name", "name"),
    )


class EventDelivery(Base):
    """The delivery of one event to one subscribing plugin: its status, attempts and last error."""

    __tablename__ = "kernel_event_delivery"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kernel_event_outbox.id", ondelete="CASCADE"), primary_key=True
    )
    plugin: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    published_at: Mapped[datetime | None]
    # When the relay should publish this delivery (again) if it is still open by then.
    due_at: Mapped[datetime | None]
    # Backoff: an attempt may not start before this.
    not_before: Mapped[datetime | None]
    # An attempt is running until this; past it, the attempt is presumed dead (killed worker).
    lease_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_traceback: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "ix_kernel_event_delivery_due",
            "due_at",
            postgresql_where=text("status IN ('pending', 'failed')"),
            sqlite_where=text("status IN ('pending', 'failed')"),
        ),
        Index("ix_kernel_event_delivery_status_plugin", "status", "plugin"),
    )


class EventInbox(Base):
    """Proof that ``plugin`` handled ``event_id``, written in the handler's own transaction."""

    __tablename__ = "kernel_event_inbox"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kernel_event_outbox.id", ondelete="CASCADE"), primary_key=True
    )
    plugin: Mapped[str] = mapped_column(String(64), primary_key=True)
    handled_at: Mapped[datetime]


MODELS: list[type[Any]] = [OutboxEvent, EventDelivery, EventInbox]
