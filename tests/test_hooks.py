"""Each kernel hook, exercised through the example plugin and the kernel's own implementation."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from kernel.site import Site


def test_erp_models_contributes_tables_per_plugin(make_site) -> None:
    site: Site = make_site(["example"])
    assert [t.name for t in site.tables["example"]] == ["example_note", "example_note_event"]


def test_erp_migrations_gives_each_plugin_its_branch_directory(make_site) -> None:
    site: Site = make_site(["example"])
    assert list(site.migration_dirs) == ["kernel", "example"]
    assert site.migration_dirs["example"].parts[-3:] == ("erp_example", "migrations", "versions")
    assert all(isinstance(p, Path) and p.is_dir() for p in site.migration_dirs.values())


def test_erp_routers_are_mounted_under_the_plugin_prefix(make_app) -> None:
    from kernel.rbac.guards import mounted_routes

    app = make_app(["example"])
    paths = {route.path for route in mounted_routes(app)}
    assert {"/api/v1/example/notes", "/api/v1/example/notes/{note_id}"} <= paths


def test_erp_checks_report_violations(make_site) -> None:
    from erp_example.models import Note

    site: Site = make_site(["example"])
    checks = [c for plugin, cs in site.registry.collect("erp_checks") for c in cs]
    assert [c.__name__ for c in checks] == ["notes_not_blank"]
    with site.sessions.begin() as session:
        session.add_all([Note(text="fine"), Note(text="   ")])
    with site.sessions() as session:
        assert len(list(checks[0](session))) == 1


def test_erp_demo_data_is_idempotent(make_site) -> None:
    from erp_example.models import Note

    site: Site = make_site(["example"])
    for _ in range(2):
        with site.sessions.begin() as session:
            site.registry.collect("erp_demo_data", session=session, settings=site.settings)
    with site.sessions() as session:
        assert len(session.scalars(select(Note)).all()) == 1
