"""Fixtures for the approval plugin's tests: a site with the owning plugin of ``approval_testkit``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from approval_testkit import OwningPlugin

from kernel.site import Site


@pytest.fixture
def owner() -> OwningPlugin:
    """The owning plugin (fresh per test)."""
    return OwningPlugin()


@pytest.fixture
def approval_site(make_site: Callable[..., Site], owner: OwningPlugin) -> Callable[..., Site]:
    """Factory: a site with the approval and example plugins and the owning plugin registered."""

    def factory(**overrides: Any) -> Site:
        site = make_site(["approval", "example"], **overrides)
        site.registry.pm.register(owner, name="testowner")
        return site

    return factory


@pytest.fixture
def site(approval_site: Callable[..., Site]) -> Site:
    """The default approval site."""
    return approval_site()
