from kernel.plugins import PluginManifest, hookimpl

manifest = PluginManifest(name="misspelt", version="1.0", kernel_api=(1,))


@hookimpl
def erp_routes() -> list[object]:  # the hook is erp_routers
    return []
