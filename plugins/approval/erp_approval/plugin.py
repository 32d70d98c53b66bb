"""Hook implementations of the `approval` plugin (thin: the logic lives in its service modules)."""

from kernel import KERNEL_API_VERSION
from kernel.plugins import PluginManifest

manifest = PluginManifest(
    name="approval",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=(),
    api_prefix="approvals",
    description="Generic multi-level approval engine with signed decisions.",
)
