from kernel.plugins import PluginManifest

manifest = PluginManifest(name="oldapi", version="3.2", kernel_api=(99,))
