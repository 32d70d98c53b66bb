"""Plugin discovery, ordering and the start-up failures, each one clear line naming the plugin."""

from __future__ import annotations

from importlib import metadata

import pytest

from kernel import plugins as plugins_mod
from kernel.config import Settings, finalise
from kernel.plugins import PluginError, PluginManifest, build_plugin_manager, order_plugins
from kernel.site import build_site

FAKES = ["cyc_a", "cyc_b", "oldapi", "misspelt", "badtable", "sameprefix", "reserved", "wrongname", "broken"]


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the modules of tests/fake_plugins look installed, as real entry points."""
    real = plugins_mod._entry_points

    def with_fakes() -> dict[str, list[metadata.EntryPoint]]:
        found = real()
        for name in FAKES:
            ep = metadata.EntryPoint(name=name, value=f"fake_plugins.{name}", group="erp.plugins")
            found.setdefault(name, []).append(ep)
        return found

    monkeypatch.setattr(plugins_mod, "_entry_points", with_fakes)


def settings(plugins: list[str], tmp_path) -> Settings:
    return finalise(Settings.model_construct(plugins=plugins, data_dir=tmp_path, secret_key="k" * 40))


def load_error(plugins: list[str], tmp_path) -> str:
    with pytest.raises(PluginError) as info:
        build_site(settings(plugins, tmp_path)).dispose()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_builtin_plugins_load_in_dependency_then_name_order(tmp_path) -> None:
    registry = build_plugin_manager(
        settings(["ppic", "kanban", "quality", "production", "warehouse", "approval"], tmp_path)
    )
    assert registry.names == ["approval", "warehouse", "production", "kanban", "quality", "ppic"]


def test_order_is_independent_of_config_order(tmp_path) -> None:
    a = build_plugin_manager(settings(["warehouse", "example", "approval"], tmp_path)).names
    b = build_plugin_manager(settings(["approval", "warehouse", "example"], tmp_path)).names
    assert a == b == ["approval", "example", "warehouse"]


def test_enabled_but_not_installed(tmp_path) -> None:
    message = load_error(["warehouse", "payroll"], tmp_path)
    assert "'payroll'" in message and "not installed" in message


def test_missing_requirement_names_both_plugins(tmp_path) -> None:
    message = load_error(["production", "warehouse"], tmp_path)
    assert "'production' requires 'approval'" in message and "not enabled" in message


def test_dependency_cycle(tmp_path, fake_entry_points) -> None:
    message = load_error(["cyc_a", "cyc_b"], tmp_path)
    assert "cycle" in message and "'cyc_a'" in message and "'cyc_b'" in message


def test_incompatible_kernel_api(tmp_path, fake_entry_points) -> None:
    message = load_error(["oldapi"], tmp_path)
    assert "'oldapi'" in message and "kernel API" in message and "99" in message


def test_hookimpl_without_spec(tmp_path, fake_entry_points) -> None:
    message = load_error(["misspelt"], tmp_path)
    assert "'misspelt'" in message and "erp_routes" in message and "no hookspec" in message


def test_table_without_plugin_prefix(tmp_path, fake_entry_points) -> None:
    message = load_error(["badtable"], tmp_path)
    assert "'badtable'" in message and "'stock'" in message and "badtable_" in message


def test_route_prefix_defined_twice(tmp_path, fake_entry_points) -> None:
    message = load_error(["example", "sameprefix"], tmp_path)
    assert "'sameprefix'" in message and "/api/v1/example" in message and "'example'" in message


def test_route_prefix_reserved_by_the_kernel(tmp_path, fake_entry_points) -> None:
    assert "reserved" in load_error(["reserved"], tmp_path)


def test_manifest_name_must_match_entry_point(tmp_path, fake_entry_points) -> None:
    message = load_error(["wrongname"], tmp_path)
    assert "'wrongname'" in message and "something_else" in message


def test_plugin_that_fails_to_import(tmp_path, fake_entry_points) -> None:
    message = load_error(["broken"], tmp_path)
    assert "'broken'" in message and "a_module_that_does_not_exist" in message


def test_duplicate_plugin_name(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = plugins_mod._entry_points

    def duplicated() -> dict[str, list[metadata.EntryPoint]]:
        found = real()
        found["example"] = [
            *found["example"],
            metadata.EntryPoint(name="example", value="fake_plugins.oldapi", group="erp.plugins"),
        ]
        return found

    monkeypatch.setattr(plugins_mod, "_entry_points", duplicated)
    message = load_error(["example"], tmp_path)
    assert "'example'" in message and "installed twice" in message


def test_kernel_cannot_be_listed_as_a_plugin(tmp_path) -> None:
    assert "always loaded" in load_error(["kernel"], tmp_path)


def test_plugins_listed_twice_in_config_are_refused() -> None:
    from kernel.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="listed twice"):
        load_settings(plugins=["warehouse", "warehouse"])


def test_order_plugins_ties_by_name() -> None:
    manifests = {
        n: PluginManifest(name=n, version="1", kernel_api=(1,), requires=r)
        for n, r in {"z": (), "a": ("z",), "m": (), "b": ()}.items()
    }
    assert order_plugins(manifests) == ["b", "m", "z", "a"]


def test_collect_walks_plugins_in_load_order(tmp_path) -> None:
    registry = build_plugin_manager(settings(["example"], tmp_path))
    contributors = [plugin.name for plugin, _ in registry.collect("erp_migrations")]
    assert contributors == ["kernel", "example"]
