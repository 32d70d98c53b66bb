"""Hook implementations of the `production` plugin (thin: the logic lives in its service modules)."""

from kernel import KERNEL_API_VERSION
from kernel.plugins import PluginManifest

manifest = PluginManifest(
    name="production",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=("approval", "warehouse"),
    description="BOMs, manufacturing orders and SPKs, auto-allocation, daily input, material debt.",
)
