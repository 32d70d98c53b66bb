"""Database: the shared MetaData, the declarative Base, engines and sessions.

Synchronous SQLAlchemy 2.0 sessions (psycopg 3 on PostgreSQL, SQLite for the embedded default).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, Numeric, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from kernel.config import Settings
from kernel.metrics.database import instrument_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored with time zone and always returned timezone-aware in UTC.

    SQLite keeps no offset, so values are normalised to UTC on the way in and tagged on the way out.
    Naive datetimes are refused: they are a bug in the caller.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use kernel.clock.utcnow() or an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Quantity = Numeric(18, 4)
"""Quantities (pieces, meters, grams): exact decimals, never floats."""

Money = Numeric(18, 2)
"""Amounts in the site currency (IDR)."""


class Base(DeclarativeBase):
    """Declarative base of every model, kernel and plugins alike (one shared MetaData)."""

    metadata = metadata
    type_annotation_map = {datetime: UtcDateTime(), Decimal: Quantity}


def create_db_engine(settings: Settings) -> Engine:
    """Create the engine for the site database, tuned for the dialect."""
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=settings.db_echo,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    else:
        engine = create_engine(
            url,
            echo=settings.db_echo,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=True,
        )
    instrument_engine(engine)
    return engine


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_on_begin) instead of pysqlite's deferred guess.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock at the start, so concurrent writers queue instead of failing
    # with "database is locked" halfway through a transaction.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for one engine; objects stay usable after commit (responses are built from them)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back on any error."""
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def conflict_insert(bind: Session | Engine | Connection, table: Any) -> Any:
    """``INSERT`` for ``table`` with ``ON CONFLICT`` support, in the dialect behind ``bind``.

    Both supported databases (PostgreSQL, SQLite) offer ``on_conflict_do_nothing/do_update``; only the
    construct's module differs.
    """
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    dialect = engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database {dialect}")


def tables_of(models: list[type[Any]]) -> list[Table]:
    """The tables behind a list of model classes (or tables)."""
    tables = []
    for model in models:
        table = model if isinstance(model, Table) else getattr(model, "__table__", None)
        if not isinstance(table, Table):
            raise TypeError(f"{model!r} is not a mapped model or Table")
        tables.append(table)
    return tables
