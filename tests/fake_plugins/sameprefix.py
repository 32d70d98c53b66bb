from kernel.plugins import PluginManifest

manifest = PluginManifest(name="sameprefix", version="1.0", kernel_api=(1,), api_prefix="example")
