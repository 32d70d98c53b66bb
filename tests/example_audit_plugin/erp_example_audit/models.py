"""The audit plugin's tables: what it recorded, and the rules that make it misbehave on purpose."""

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base


class AuditEntry(Base):
    """One handling of ``note_created`` (not deduplicated here: the kernel's inbox must do that)."""

    __tablename__ = "example_audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[uuid.UUID]
    note_id: Mapped[int]
    text: Mapped[str] = mapped_column(String(200))
    attempt: Mapped[int]
    handled_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditRule(Base):
    """Notes whose text equals ``text`` get ``action``: fail, veto, hang (past the time limit) or kill."""

    __tablename__ = "example_audit_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(10))
