"""Migrations: every branch upgrades, downgrades fully and upgrades again, on PostgreSQL and SQLite,
and the models match the migrated schema (autogenerate finds no difference)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from kernel import migrate
from kernel.db import metadata
from kernel.site import Site, build_site
from kernel.testing import all_plugin_names, create_database, drop_database, test_settings


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_site(request, test_services, tmp_path: Path) -> Iterator[Site]:
    """A site with every installed plugin enabled, on an empty database of each dialect."""
    if request.param == "postgresql":
        name = f"erp_mig_{uuid.uuid4().hex[:10]}"
        url = create_database(test_services.pg_admin_url, name)
    else:
        url = f"sqlite:///{tmp_path / 'erp.db'}"
    site = build_site(test_settings(url, tmp_path, all_plugin_names()))
    yield site
    site.dispose()
    if request.param == "postgresql":
        drop_database(test_services.pg_admin_url, name)


def schema_diff(site: Site) -> list[object]:
    owned = site.table_names

    def include(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table":
            return name in owned
        table = getattr(obj, "table", None)
        return table is None or table.name in owned

    with site.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        return list(compare_metadata(ctx, metadata))


def user_tables(site: Site) -> set[str]:
    with site.engine.connect() as conn:
        return set(inspect(conn).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_every_branch(empty_site: Site) -> None:
    site = empty_site
    migrate.upgrade(site)
    assert not any(state.pending for state in migrate.status(site))
    assert site.table_names <= user_tables(site)
    assert schema_diff(site) == []

    # Plugins first (dependents before what they depend on), then the kernel.
    for branch in reversed(list(site.migration_dirs)):
        migrate.downgrade(site, branch)
    assert user_tables(site) == set()

    migrate.upgrade(site)
    assert schema_diff(site) == []
    assert [s.current for s in migrate.status(site)] == [s.head for s in migrate.status(site)]


def test_disabled_plugin_tables_stay_untouched(test_services, tmp_path: Path) -> None:
    name = f"erp_mig_{uuid.uuid4().hex[:10]}"
    url = create_database(test_services.pg_admin_url, name)
    try:
        with_example = build_site(test_settings(url, tmp_path, ["example"]))
        migrate.upgrade(with_example)
        with with_example.engine.begin() as conn:
            conn.execute(text("INSERT INTO example_note (text, created_at) VALUES ('kept', now())"))
        with_example.dispose()

        without = build_site(test_settings(url, tmp_path, []))
        migrate.upgrade(without)  # must not fail on the disabled branch's revision in alembic_version
        assert [s.branch for s in migrate.status(without)] == ["kernel"]
        assert "example_note" not in without.table_names
        with without.engine.connect() as conn:
            assert conn.execute(text("SELECT text FROM example_note")).scalar_one() == "kept"
        without.dispose()
    finally:
        drop_database(test_services.pg_admin_url, name)


def test_pending_branches_reports_unapplied_revisions(test_services, tmp_path: Path) -> None:
    name = f"erp_mig_{uuid.uuid4().hex[:10]}"
    url = create_database(test_services.pg_admin_url, name)
    try:
        site = build_site(test_settings(url, tmp_path, ["example"]))
        assert migrate.pending_branches(site) == ["kernel", "example"]
        migrate.upgrade(site, "kernel@head")
        assert migrate.pending_branches(site) == ["example"]
        migrate.upgrade(site)
        assert migrate.pending_branches(site) == []
        site.dispose()
    finally:
        drop_database(test_services.pg_admin_url, name)
