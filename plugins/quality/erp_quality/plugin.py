"""Hook implementations of the `quality` plugin (thin: the logic lives in its service modules)."""

from kernel import KERNEL_API_VERSION
from kernel.plugins import PluginManifest

manifest = PluginManifest(
    name="quality",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=("production", "warehouse"),
    description="Inspections, lab tests, segregation and defect analysis.",
)
