"""Meta-tests: every hookspec has a documentation section and a test (as Datasette does)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from kernel import core_plugin, hookspecs
from kernel.plugins import installed_plugins, load_disabled_module

ROOT = Path(__file__).resolve().parent.parent


def hookspec_names() -> list[tuple[str, str]]:
    """(owner, hook name) for the kernel's hookspecs and every installed plugin's own."""
    modules = [("kernel", hookspecs)] + [
        ("kernel", importlib.import_module(m)) for m in core_plugin.HOOKSPEC_MODULES
    ]
    for info in installed_plugins():
        module = load_disabled_module(info.name)
        spec_module = getattr(getattr(module, "manifest", None), "hookspecs", None)
        if spec_module:
            modules.append((info.name, importlib.import_module(spec_module)))
    names = []
    for owner, module in modules:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if hasattr(fn, "erp_spec"):
                names.append((owner, name))
    return sorted(set(names))


def documented_sections() -> set[str]:
    text = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    for readme in [*ROOT.glob("plugins/*/README.md"), *ROOT.glob("tests/*/README.md")]:
        text += "\n" + readme.read_text()
    return set(re.findall(r"^###\s+`?(\w+)`?", text, flags=re.MULTILINE))


def test_names() -> set[str]:
    names = set()
    for path in [*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("plugins/*/tests/**/test_*.py")]:
        names.update(re.findall(r"^def (test_\w+)", path.read_text(), flags=re.MULTILINE))
    return names


test_names.__test__ = False  # type: ignore[attr-defined]

HOOKS = hookspec_names()


def test_hookspecs_are_found() -> None:
    assert ("kernel", "erp_models") in HOOKS


@pytest.mark.parametrize(("owner", "hook"), HOOKS)
def test_every_hookspec_is_documented(owner: str, hook: str) -> None:
    assert hook in documented_sections(), f"hook {hook} ({owner}) has no '### {hook}' section in docs/"


@pytest.mark.parametrize(("owner", "hook"), HOOKS)
def test_every_hookspec_has_a_test(owner: str, hook: str) -> None:
    assert any(hook in name for name in test_names()), f"hook {hook} ({owner}) has no test named after it"


@pytest.mark.parametrize(("owner", "hook"), HOOKS)
def test_every_hookspec_has_a_docstring(owner: str, hook: str) -> None:
    module = hookspecs
    fn = getattr(module, hook, None)
    if fn is not None:
        assert inspect.getdoc(fn), f"hookspec {hook} has no docstring"
