"""The ERP kernel: configuration, plugin loading, database, migrations, HTTP app and CLI.

The kernel knows nothing of stock, SPKs or QC; department plugins contribute those through hooks.
"""

KERNEL_API_VERSION = 1
"""Version of the contract between the kernel and plugins; a plugin's manifest lists those it supports."""

__version__ = "0.1.0"
