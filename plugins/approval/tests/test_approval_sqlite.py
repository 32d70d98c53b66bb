"""The embedded default: the whole approval flow on SQLite (migrated, signed, verified, append-only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from approval_testkit import (
    ADMIN_SEWING,
    MANAGER,
    SPV_SEWING,
    OwningPlugin,
    applied_count,
    decide_as,
    submit_as,
)
from erp_approval import service
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kernel import migrate
from kernel.site import Site, build_site
from kernel.testing import test_settings

pytestmark = pytest.mark.sqlite


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    site = build_site(test_settings(f"sqlite:///{tmp_path / 'erp.db'}", tmp_path, ["approval", "example"]))
    migrate.upgrade(site)
    site.registry.pm.register(OwningPlugin(), name="testowner")
    yield site
    site.dispose()


def test_approval_flow_on_sqlite(sqlite_site: Site) -> None:
    site = sqlite_site
    request_id = submit_as(site, ADMIN_SEWING)
    decide_as(site, SPV_SEWING, request_id, note="ok")
    decide_as(site, MANAGER, request_id)
    assert applied_count(site) == 1
    with site.sessions() as session:
        request = service.get_request(session, request_id=request_id)
        assert request.status == "approved"
        assert [e.verified for e in service.history(session, request=request)] == [True, True]
    with pytest.raises(DBAPIError, match="append-only"), site.engine.begin() as conn:
        conn.execute(text("UPDATE approval_decision SET note = 'edited'"))
