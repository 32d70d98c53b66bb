"""Hook implementations of the `ppic` plugin (thin: the logic lives in its service modules)."""

from kernel import KERNEL_API_VERSION
from kernel.plugins import PluginManifest

manifest = PluginManifest(
    name="ppic",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=("production", "quality", "warehouse"),
    description="Sales orders, MO planning and release, dashboard, reports, MRP, alerts.",
)
