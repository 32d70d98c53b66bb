"""``/api/v1/meta``: what this site runs, for clients to build their menus."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from kernel.deps import SiteDep
from kernel.rbac import require

router = APIRouter(prefix="/meta", tags=["meta"])


class PluginInfo(BaseModel):
    """An enabled plugin."""

    name: str
    version: str
    requires: list[str]
    api_prefix: str
    description: str


class PluginList(BaseModel):
    """The enabled plugins in load order."""

    items: list[PluginInfo]


@router.get(
    "/plugins",
    response_model=PluginList,
    summary="Enabled plugins",
    dependencies=[Depends(require("kernel.meta.view"))],
)
def list_plugins(site: SiteDep) -> PluginList:
    """The plugins enabled at this site, in load order, with version and requirements."""
    items = [
        PluginInfo(
            name=p.name,
            version=p.manifest.version,
            requires=list(p.manifest.requires),
            api_prefix=f"/api/v1/{p.manifest.prefix}",
            description=p.manifest.description,
        )
        for p in site.registry.plugins
    ]
    return PluginList(items=items)
