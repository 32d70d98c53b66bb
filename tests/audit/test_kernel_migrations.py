"""The kernel's auth/audit migrations go up and down cleanly, and match the models."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from kernel.db import metadata
from kernel.migrate import downgrade, upgrade
from kernel.site import build_site
from kernel.testing import create_database, drop_database
from kernel.testing import test_settings as settings_for


def test_kernel_migrations_up_down_up_and_no_drift(test_services, data_dir) -> None:
    name = f"erp_mig_{uuid.uuid4().hex[:10]}"
    url = create_database(test_services.pg_admin_url, name)
    site = build_site(settings_for(url, data_dir, []))
    try:
        upgrade(site)
        with site.engine.connect() as conn:
            kernel_tables = {t.name for t in site.tables["kernel"]}
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
            drift = [d for d in diff if _table_of(d) in kernel_tables]
        assert drift == []
        downgrade(site, "kernel_0001")
        assert not {"kernel_user", "kernel_audit_log"} & set(inspect(site.engine).get_table_names())
        upgrade(site)
        tables = set(inspect(site.engine).get_table_names())
        assert {"kernel_user", "kernel_role", "kernel_audit_log"} <= tables
    finally:
        site.dispose()
        drop_database(test_services.pg_admin_url, name)


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if hasattr(part, "name") and hasattr(part, "columns"):
            return part.name
        if isinstance(part, str):
            return part
    return None
