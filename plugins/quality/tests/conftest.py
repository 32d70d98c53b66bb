"""Fixtures of the quality tests: a client of a site with quality and its dependencies, master data."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))

from quality_testkit import PLUGINS, Factory, make_factory_data


@pytest.fixture
def factory(make_client: Callable[..., TestClient]) -> Factory:
    """A started client with quality enabled and master data committed."""
    client = make_client(PLUGINS)
    site = client.app.state.site  # type: ignore[attr-defined]
    return Factory(client=client, site=site, **make_factory_data(site))
