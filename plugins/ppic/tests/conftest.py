"""Fixtures of the ppic tests: a site with every plugin PPIC reads, a small factory's master data."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2] / "production" / "tests"))

from ppic_testkit import PLUGINS, Plant, make_plant

from kernel.site import Site


@pytest.fixture
def plant(make_site: Callable[..., Site]) -> Plant:
    """A PPIC site (approval, warehouse, production, quality, ppic) with master data committed."""
    return make_plant(make_site(PLUGINS))


@pytest.fixture
def redis_plant(make_site: Callable[..., Site], redis_url: str, broker_namespace: str) -> Plant:
    """The same, with the test Redis as event broker, so a real ``erp worker`` can deliver its events."""
    site = make_site(PLUGINS, broker="redis", broker_url=redis_url, broker_namespace=broker_namespace)
    return make_plant(site)
