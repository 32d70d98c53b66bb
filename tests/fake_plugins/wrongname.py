from kernel.plugins import PluginManifest

manifest = PluginManifest(name="something_else", version="1.0", kernel_api=(1,))
