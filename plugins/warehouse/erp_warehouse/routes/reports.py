"""Reports: the inventory report, as a JSON page or streamed CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from erp_warehouse import permissions as perm
from erp_warehouse import reports
from erp_warehouse.routes.common import page_of
from erp_warehouse.schemas import InventoryRowOut
from kernel.deps import SessionDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/reports", tags=["warehouse: reports"])


@router.get(
    "/inventory",
    response_model=Page[InventoryRowOut],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON page, or CSV (format=csv)"}},
)
def inventory(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.REPORT_VIEW))],
    category_id: int | None = None,
    location_id: int | None = None,
    below_min: bool = False,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Quantities by category, product and location, flagging products below their minimum;
    ``format=csv`` streams every row instead of one page."""
    rows = reports.inventory_report(
        session, category_id=category_id, location_id=location_id, below_min=below_min
    )
    if format == "csv":
        return StreamingResponse(
            reports.inventory_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="inventory.csv"'},
        )
    window = rows[page.offset : page.offset + page.limit]
    items = [InventoryRowOut.model_validate(r, from_attributes=True) for r in window]
    return page_of(items, len(rows), page)
