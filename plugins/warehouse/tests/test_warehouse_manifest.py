"""The `warehouse` plugin is discoverable and declares a loadable manifest."""

from kernel.plugins import installed_plugins


def test_warehouse_is_installed_with_a_valid_manifest() -> None:
    info = {p.name: p for p in installed_plugins()}["warehouse"]
    assert info.error is None
    assert info.distribution == "erp-warehouse"
    assert info.requires == ()
