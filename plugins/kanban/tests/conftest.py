"""Fixtures of the kanban tests: a site with approval, warehouse, production and kanban, a small factory."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "production" / "tests"))

from kanban_testkit import PLUGINS, Shop
from production_testkit import make_master_data

from kernel.db import unit_of_work
from kernel.site import Site


@pytest.fixture
def shop(make_site: Callable[..., Site]) -> Shop:
    """A kanban site with production's small factory (stores per department, Route 1 BOMs) committed."""
    site = make_site(PLUGINS, db_pool_size=30, db_max_overflow=5)
    with unit_of_work(site.sessions) as session:
        data = make_master_data(session)
    return Shop(site=site, **data)
