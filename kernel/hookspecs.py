# mypy: disable-error-code="empty-body"
"""Kernel hookspecs: what a plugin can contribute to the kernel.

Every hook here is documented in ``docs/plugins.md`` and exercised by a test; a meta-test fails
otherwise. All of these are called at start-up (or by a CLI command), outside any request, once per
plugin, in plugin order (dependencies first, then by name). Plugins declare their own events and
in-transaction hooks in a hookspecs module of their own, named by their manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from fastapi import APIRouter
    from sqlalchemy.orm import Session

    from kernel.config import Settings
    from kernel.scheduler import PeriodicJob

hookspec = pluggy.HookspecMarker("erp")

ConsistencyCheck = Callable[["Session"], Iterable[str]]
"""A consistency check: given a session, yields one message per violation found (nothing when sound)."""


# --- schema -------------------------------------------------------------------------------------


@hookspec
def erp_models() -> Sequence[type[Any]]:
    """Return the plugin's SQLAlchemy model classes (subclasses of ``kernel.db.Base``).

    Called once at start-up. Every table must be named ``<plugin>_<something>``; a table name already
    contributed by another plugin stops start-up. Only enabled plugins' tables take part in migrations'
    autogenerate comparison.

    :returns: the model classes, in any order.
    """


@hookspec
def erp_migrations() -> str | Path:
    """Return the directory holding the plugin's Alembic revisions (its own branch).

    The branch's first revision carries ``branch_labels = ("<plugin>",)`` and ``depends_on`` the
    kernel's (and required plugins') revisions it needs. ``erp db upgrade`` upgrades the branches of the
    enabled plugins only.

    :returns: an absolute path to the ``versions`` directory.
    """


# --- HTTP ---------------------------------------------------------------------------------------


@hookspec
def erp_routers() -> Sequence[APIRouter]:
    """Return the plugin's FastAPI routers.

    Called once while the app is built. The kernel mounts each under ``/api/v1/<api_prefix>`` (the
    manifest's ``api_prefix``, by default the plugin's name). Plugins never touch the app itself.

    :returns: routers, mounted in the order given.
    """


@hookspec
def erp_websockets() -> Sequence[APIRouter]:
    """Return routers holding the plugin's WebSocket endpoints (real-time dashboards, boards).

    Called once while the app is built. The kernel mounts each under ``/ws/<api_prefix>``. Endpoints are
    ``async`` and usually relay a ``kernel.realtime`` channel to the client.

    :returns: routers with ``@router.websocket(...)`` endpoints.
    """


# --- operations ---------------------------------------------------------------------------------


@hookspec
def erp_checks() -> Sequence[ConsistencyCheck]:
    """Return consistency checks that ``erp check`` runs (e.g. stock balance equals ledger sum).

    Each check is called with a read-only session and yields one human-readable message per violation.
    ``erp check`` exits 1 when any check yields anything.

    :returns: callables ``check(session) -> Iterable[str]``.
    """


@hookspec
def erp_demo_data(session: Session, settings: Settings) -> None:
    """Load the plugin's demo data into ``session`` (``erp demo``).

    Called in plugin order inside one transaction that ``erp demo`` commits; a plugin may rely on the
    demo data of the plugins it requires. Must be idempotent: running ``erp demo`` twice creates nothing
    twice (look records up by their natural keys before creating them).

    :param session: the transaction to write into.
    :param settings: the site settings.
    """


@hookspec
def erp_periodic_jobs() -> Sequence[PeriodicJob]:
    """Return the plugin's periodic jobs (``kernel.scheduler.PeriodicJob``).

    Called once when a scheduler starts (``erp scheduler``, or the embedded server). Each job is named
    ``<plugin>.<job>`` and scheduled by cron (site timezone) or a fixed interval; it runs once per period
    however many schedulers run, inside a transaction of its own.

    :returns: the jobs.
    """
