from kernel.plugins import PluginManifest

manifest = PluginManifest(name="cyc_a", version="1.0", kernel_api=(1,), requires=("cyc_b",))
