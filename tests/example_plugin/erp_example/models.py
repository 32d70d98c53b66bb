"""The example plugin's one table."""

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base


class Note(Base):
    """A short note."""

    __tablename__ = "example_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoteEvent(Base):
    """The example plugin's own reaction to ``note_created`` (one row per handling, never deduplicated
    here: the kernel's inbox is what keeps it to one per event)."""

    __tablename__ = "example_note_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[uuid.UUID]
    note_id: Mapped[int]
    request_id: Mapped[str | None] = mapped_column(String(64))
    handled_at: Mapped[datetime] = mapped_column(default=utcnow)
