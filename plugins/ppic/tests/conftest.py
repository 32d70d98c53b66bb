"""Fixtures of the PPIC tests: a client of a site with PPIC and its dependencies and a small factory
(planning tests), or a site with every plugin PPIC reads (dashboard, alerts and report tests)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2] / "production" / "tests"))

from ppic_live_testkit import Plant, make_plant
from ppic_testkit import PLUGINS, Ppic, make_ppic_data

from kernel.site import Site


@pytest.fixture
def ppic(make_client: Callable[..., Any], auth_headers: Callable[..., dict[str, str]]) -> Ppic:
    """A started client with PPIC enabled and the Route 1 factory's master data committed."""
    client = make_client(PLUGINS)
    site = client.app.state.site
    return Ppic(client=client, site=site, login=auth_headers, **make_ppic_data(site))


@pytest.fixture
def plant(make_site: Callable[..., Site]) -> Plant:
    """A PPIC site (approval, warehouse, production, quality, ppic) with master data committed."""
    return make_plant(make_site(PLUGINS))


@pytest.fixture
def redis_plant(make_site: Callable[..., Site], redis_url: str, broker_namespace: str) -> Plant:
    """The same, with the test Redis as event broker, so a real ``erp worker`` can deliver its events."""
    site = make_site(PLUGINS, broker="redis", broker_url=redis_url, broker_namespace=broker_namespace)
    return make_plant(site)
