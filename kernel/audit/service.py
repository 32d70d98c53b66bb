"""Reading the audit trail: filtered, paginated queries and a streamed export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.audit.models import AuditLog

CSV_COLUMNS = (
    "id",
    "at",
    "action",
    "status",
    "user_id",
    "username",
    "roles",
    "client_address",
    "method",
    "path",
    "entity_type",
    "entity_id",
    "old",
    "new",
    "detail",
    "request_id",
    "chain",
    "seq",
    "hash",
)


@dataclass(frozen=True)
class AuditFilter:
    """What to look for; every field is optional."""

    user_id: int | None = None
    username: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _query(filters: AuditFilter) -> Select[AuditLog]:
    stmt = select(AuditLog)
    if filters.user_id is not None:
        stmt = stmt.where(AuditLog.user_id == filters.user_id)
    if filters.username is not None:
        stmt = stmt.where(AuditLog.username == filters.username.lower())
    if filters.entity_type is not None:
        stmt = stmt.where(AuditLog.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == filters.entity_id)
    if filters.action is not None:
        stmt = stmt.where(AuditLog.action == filters.action)
    if filters.since is not None:
        stmt = stmt.where(AuditLog.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditLog.at < filters.until)
    return stmt


def list_logs(
    session: Session, *, filters: AuditFilter, limit: int, offset: int
) -> tuple[list[AuditLog], int]:
    """A page of matching rows, newest first, and the total count."""
    stmt = _query(filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def parse_json(text: str | None) -> Any:
    """A stored JSON column back as a value."""
    return None if text is None else json.loads(text)


def export_csv(sessions: sessionmaker[Session], *, filters: AuditFilter, batch: int = 1000) -> Iterator[str]:
    """Every matching row as CSV lines, oldest first, read in batches (for a streamed response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    with sessions() as session:
        stmt = _query(filters).order_by(AuditLog.at, AuditLog.id).execution_options(yield_per=batch)
        for row in session.scalars(stmt):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([_csv_value(getattr(row, c)) for c in CSV_COLUMNS])
            yield buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        # Spreadsheets execute cells starting with these; audited paths and values are user input.
        return "'" + value
    return "" if value is None else value
