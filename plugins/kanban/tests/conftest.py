"""Fixtures of the kanban tests: a site with approval, warehouse, production and kanban, a small factory."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "production" / "tests"))

from kanban_testkit import PLUGINS, Shop
from production_testkit import make_master_data

from kernel.db import unit_of_work
from kernel.site import Site


@pytest.fixture
def make_shop(make_site: Callable[..., Site]) -> Callable[..., Shop]:
    """Factory: a kanban site (extra settings as keywords) with production's small factory committed:
    a store per department, the MAIN warehouse, Route 1 BOMs."""

    def factory(**settings: Any) -> Shop:
        site = make_site(PLUGINS, db_pool_size=30, db_max_overflow=5, **settings)
        with unit_of_work(site.sessions) as session:
            data = make_master_data(session)
        return Shop(site=site, **data)

    return factory


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    """A kanban site with production's small factory."""
    return make_shop()
