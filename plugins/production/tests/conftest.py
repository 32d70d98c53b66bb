"""Fixtures of the production tests: a site with approval, warehouse and production, a small factory."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from production_testkit import PLUGINS, Factory, make_master_data

from kernel.db import unit_of_work
from kernel.site import Site


@pytest.fixture
def factory(make_site: Callable[..., Site]) -> Factory:
    """A production site with master data and the Route 1 BOMs committed."""
    site = make_site(PLUGINS)
    with unit_of_work(site.sessions) as session:
        data = make_master_data(session)
    return Factory(site=site, **data)
