"""Hook implementations of the `warehouse` plugin (thin: the logic lives in its service modules)."""

from kernel import KERNEL_API_VERSION
from kernel.plugins import PluginManifest

manifest = PluginManifest(
    name="warehouse",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=(),
    description="Master data, stock ledger and balances, transfers between departments, purchase orders.",
)
