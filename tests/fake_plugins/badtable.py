from sqlalchemy import Column, Integer, Table

from kernel.db import metadata
from kernel.plugins import PluginManifest, hookimpl

manifest = PluginManifest(name="badtable", version="1.0", kernel_api=(1,))
stock = Table("stock", metadata, Column("id", Integer, primary_key=True))


@hookimpl
def erp_models() -> list[object]:
    return [stock]
