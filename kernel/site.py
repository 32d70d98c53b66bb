"""The site: settings, enabled plugins, their tables and the database, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from kernel.db import create_db_engine, session_factory, tables_of
from kernel.plugins import PluginError, PluginRegistry, build_plugin_manager

SESSION_INFO_KEY = "erp.site"


@dataclass
class Site:
    """Everything built from the settings: plugin registry, tables per plugin, engine and sessions."""

    settings: Settings
    registry: PluginRegistry
    tables: dict[str, list[Table]]
    migration_dirs: dict[str, Path]
    engine: Engine
    sessions: sessionmaker[Session]
    services: dict[str, Any] = field(default_factory=dict)

    @property
    def table_names(self) -> set[str]:
        """Names of the tables owned by the kernel and the enabled plugins."""
        return {t.name for tables in self.tables.values() for t in tables}

    def dispose(self) -> None:
        """Close every pooled database connection."""
        self.engine.dispose()


def collect_tables(registry: PluginRegistry) -> dict[str, list[Table]]:
    """Tables per plugin; refuses a table without the plugin's prefix or one defined twice."""
    owners: dict[str, str] = {}
    result: dict[str, list[Table]] = {}
    for plugin, models in registry.collect("erp_models"):
        tables = tables_of(list(models or []))
        for table in tables:
            if not table.name.startswith(f"{plugin.name}_"):
                raise PluginError(
                    f"plugin {plugin.name!r}: table {table.name!r} must be prefixed {plugin.name + '_'!r}"
                )
            if table.name in owners and owners[table.name] != plugin.name:
                raise PluginError(
                    f"plugin {plugin.name!r}: table {table.name!r} is already defined by plugin "
                    f"{owners[table.name]!r}"
                )
            owners[table.name] = plugin.name
        result.setdefault(plugin.name, []).extend(tables)
    return result


def collect_migration_dirs(registry: PluginRegistry) -> dict[str, Path]:
    """The Alembic versions directory of the kernel and each enabled plugin that has migrations."""
    dirs: dict[str, Path] = {}
    for plugin, path in registry.collect("erp_migrations"):
        if path:
            resolved = Path(path).resolve()
            if not resolved.is_dir():
                raise PluginError(f"plugin {plugin.name!r}: migrations directory {resolved} does not exist")
            dirs[plugin.name] = resolved
    return dirs


def build_site(settings: Settings) -> Site:
    """Load plugins, check their contributions and create the engine. Raises PluginError/ConfigError."""
    registry = build_plugin_manager(settings)
    tables = collect_tables(registry)
    migration_dirs = collect_migration_dirs(registry)
    engine = create_db_engine(settings)
    site = Site(
        settings=settings,
        registry=registry,
        tables=tables,
        migration_dirs=migration_dirs,
        engine=engine,
        sessions=session_factory(engine),
    )
    # Services that call hooks or need the settings (signing keys, site caps) find the site through
    # the session they are given, so their signatures stay ``fn(session, *, ...)``.
    site.sessions.configure(info={SESSION_INFO_KEY: site})
    # Registers the listeners that invalidate cached principals when users, roles or grants change.
    import kernel.auth.invalidation  # noqa: F401

    return site


def site_of(session: Session) -> Site:
    """The Site whose session factory made ``session`` (raises RuntimeError for a foreign session)."""
    site = session.info.get(SESSION_INFO_KEY)
    if not isinstance(site, Site):
        raise RuntimeError("this session was not created by a Site's session factory (site.sessions)")
    return site
