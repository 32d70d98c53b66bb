"""SQLAlchemy event listeners feeding the query-time histogram and the pool-in-use gauge."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event

from kernel.metrics.registry import db_pool_in_use, db_query_duration, db_query_errors

_OPERATIONS = frozenset({"select", "insert", "update", "delete"})
_STARTS = "erp_query_starts"


def statement_kind(statement: str) -> str:
    """``select``/``insert``/``update``/``delete`` from the statement's first word, else ``other``."""
    head = statement.lstrip().split(None, 1)
    word = head[0].lower() if head else ""
    return word if word in _OPERATIONS else "other"


def _before_execute(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    # A stack, not one slot: a listener of another statement can run while this one executes.
    conn.info.setdefault(_STARTS, []).append(time.perf_counter())


def _after_execute(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    starts = conn.info.get(_STARTS)
    if starts:
        elapsed = time.perf_counter() - starts.pop()
        db_query_duration.labels(operation=statement_kind(statement)).observe(elapsed)


def _on_error(context: Any) -> None:
    try:
        starts = context.connection.info.get(_STARTS)
    except Exception:  # the connection may already be invalidated; its stack goes with it
        starts = None
    if starts:
        starts.pop()
    db_query_errors.labels(operation=statement_kind(context.statement or "")).inc()


def _checkout(*_: Any) -> None:
    db_pool_in_use.inc()


def _checkin(*_: Any) -> None:
    db_pool_in_use.dec()


def instrument_engine(engine: Engine) -> None:
    """Time every statement of ``engine`` and track how many pooled connections are checked out."""
    event.listen(engine, "before_cursor_execute", _before_execute)
    event.listen(engine, "after_cursor_execute", _after_execute)
    event.listen(engine, "handle_error", _on_error)
    event.listen(engine.pool, "checkout", _checkout)
    event.listen(engine.pool, "checkin", _checkin)
