"""BOM routes, including auto-allocation of an SPK's materials."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from erp_production import allocation, bom
from erp_production.models import Bom
from erp_production.schemas import (
    AllocateIn,
    AllocationLineOut,
    AllocationOut,
    BomIn,
    BomOut,
    Department,
    ExplodedLineOut,
    ExplosionOut,
)
from kernel.deps import SessionDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/bom", tags=["production"])


def _out(session: SessionDep, b: Bom) -> BomOut:
    lines = [
        {
            "id": line.id,
            "line_no": line.line_no,
            "component_id": line.component_id,
            "quantity": line.quantity,
            "wastage_pct": line.wastage_pct,
            "variants": [
                {
                    "id": v.id,
                    "kind": v.kind,
                    "component_id": v.component_id,
                    "quantity": v.quantity,
                    "share_pct": v.share_pct,
                }
                for v in variants
            ],
        }
        for line, variants in bom.bom_lines(session, bom_id=b.id)
    ]
    return BomOut.model_validate(
        {
            k: getattr(b, k)
            for k in (
                "id",
                "product_id",
                "department",
                "revision",
                "output_qty",
                "active",
                "note",
                "created_at",
            )
        }
        | {"lines": lines}
    )


@router.get("", response_model=Page[BomOut])
def list_boms(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.bom.view"))],
    page: PageDep,
    product_id: int | None = None,
    department: Department | None = None,
    active: bool | None = None,
) -> Page[BomOut]:
    """BOMs, filtered by product, department and active flag."""
    rows, total = bom.list_boms(
        session,
        product_id=product_id,
        department=department,
        active=active,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=[_out(session, b) for b in rows], total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=BomOut)
def create_bom(
    body: BomIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.bom.manage"))],
) -> BomOut:
    """Create a BOM (no cycles, no self-component, one active BOM per product and step)."""
    return _out(session, bom.create_bom(session, data=body, user=principal.username))


@router.get("/explode", response_model=ExplosionOut)
def explode(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.bom.view"))],
    product_id: int,
    quantity: Annotated[Decimal, Query(gt=0, max_digits=18, decimal_places=4)],
    department: Department | None = None,
) -> ExplosionOut:
    """Explode a product's BOM for a quantity through every WIP level."""
    rows, totals = bom.explode(session, product_id=product_id, quantity=quantity, department=department)
    return ExplosionOut(
        product_id=product_id,
        quantity=quantity,
        lines=[ExplodedLineOut.model_validate(r.__dict__) for r in rows],
        totals=totals,
    )


@router.post("/create-with-auto-allocation", response_model=AllocationOut)
def auto_allocate(
    body: AllocateIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.allocation.create"))],
) -> AllocationOut:
    """Reserve the SPK's materials FIFO over lots in its store (``dry_run``: preview only). Idempotent."""
    scope = principal.department_scope("production.allocation.create")
    lines = allocation.allocate(
        session, spk_id=body.spk_id, dry_run=body.dry_run, user=principal.username, department=scope
    )
    return AllocationOut(
        spk_id=body.spk_id,
        dry_run=body.dry_run,
        lines=[AllocationLineOut.model_validate(x.__dict__) for x in lines],
    )


@router.get("/allocation-preview/{spk_id}", response_model=AllocationOut)
def allocation_preview(
    spk_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.allocation.view"))],
) -> AllocationOut:
    """The SPK's allocation as it would be made now, without side effects."""
    scope = principal.department_scope("production.allocation.view")
    lines = allocation.preview(session, spk_id=spk_id, department=scope)
    return AllocationOut(
        spk_id=spk_id, dry_run=True, lines=[AllocationLineOut.model_validate(x.__dict__) for x in lines]
    )


@router.get("/{bom_id}", response_model=BomOut)
def get_bom(
    bom_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require("production.bom.view"))]
) -> BomOut:
    """One BOM with its lines and variants."""
    return _out(session, bom.get_bom(session, bom_id=bom_id))


@router.put("/{bom_id}", response_model=BomOut)
def update_bom(
    bom_id: int,
    body: BomIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.bom.manage"))],
) -> BomOut:
    """Replace a BOM's header and lines (same validation as create)."""
    return _out(session, bom.update_bom(session, bom_id=bom_id, data=body, user=principal.username))


@router.post("/{bom_id}/activate", response_model=BomOut)
def activate(
    bom_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.bom.manage"))],
) -> BomOut:
    """Activate a BOM (refused when another BOM of the product and step is active)."""
    return _out(session, bom.set_active(session, bom_id=bom_id, active=True))


@router.post("/{bom_id}/deactivate", response_model=BomOut)
def deactivate(
    bom_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("production.bom.manage"))],
) -> BomOut:
    """Deactivate a BOM."""
    return _out(session, bom.set_active(session, bom_id=bom_id, active=False))
