"""The `ppic` plugin is discoverable and declares a loadable manifest."""

from kernel.plugins import installed_plugins


def test_ppic_is_installed_with_a_valid_manifest() -> None:
    info = {p.name: p for p in installed_plugins()}["ppic"]
    assert info.error is None
    assert info.distribution == "erp-ppic"
    assert info.requires == ("production", "warehouse", "quality")
