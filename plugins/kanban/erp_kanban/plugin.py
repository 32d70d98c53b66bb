"""Hook implementations of the `kanban` plugin (thin: the logic lives in its service modules)."""

from kernel import KERNEL_API_VERSION
from kernel.plugins import PluginManifest

manifest = PluginManifest(
    name="kanban",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=("production", "warehouse"),
    description="Pull-based replenishment boards tied to stock and production.",
)
