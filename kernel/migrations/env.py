"""Alembic environment of the ERP: one version table, the kernel's branch plus one per plugin.

Driven programmatically by ``kernel.migrate`` (``erp db ...``), which puts the Site in
``config.attributes["site"]``. Only the enabled plugins' tables are compared by autogenerate, so a
revision of one plugin never touches another plugin's tables.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from kernel.db import metadata
from kernel.site import Site

config = context.config
site: Site = config.attributes["site"]
owned = site.table_names


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Compare only tables of the enabled plugins (and the kernel); leave every other table alone."""
    if type_ == "table":
        return name in owned
    table = getattr(obj, "table", None)
    if table is not None:
        return table.name in owned
    return True


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        with site.engine.connect() as conn:
            _configure_and_run(conn)
    else:
        _configure_and_run(connection)


def _configure_and_run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
