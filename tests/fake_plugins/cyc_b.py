from kernel.plugins import PluginManifest

manifest = PluginManifest(name="cyc_b", version="1.0", kernel_api=(1,), requires=("cyc_a",))
