"""Fixtures of the PPIC tests: a client of a site with PPIC and its dependencies, a small factory."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2] / "production" / "tests"))

from ppic_testkit import PLUGINS, Ppic, make_ppic_data


@pytest.fixture
def ppic(make_client: Callable[..., Any], auth_headers: Callable[..., dict[str, str]]) -> Ppic:
    """A started client with PPIC enabled and the Route 1 factory's master data committed."""
    client = make_client(PLUGINS)
    site = client.app.state.site
    return Ppic(client=client, site=site, login=auth_headers, **make_ppic_data(site))
