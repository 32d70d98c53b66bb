"""Stock: summary, moves, lots, a product's ledger, reservations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from erp_warehouse import permissions as perm
from erp_warehouse import reports, stock
from erp_warehouse.routes.common import page_of
from erp_warehouse.schemas import (
    LedgerOut,
    LotDetailOut,
    PostedMoveOut,
    ReleaseIn,
    ReservationOut,
    ReserveIn,
    StockMoveIn,
    StockRowOut,
)
from kernel.deps import SessionDep, SiteDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/stock", tags=["warehouse: stock"])


@router.get("/summary", response_model=Page[StockRowOut])
def stock_summary(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.STOCK_VIEW))],
    product_id: int | None = None,
    location_id: int | None = None,
    category_id: int | None = None,
    below_min: Annotated[
        bool, Query(description="Only products whose total is below their minimum.")
    ] = False,
    only_available: Annotated[bool, Query(description="Only balances with free (unreserved) stock.")] = False,
) -> Page[StockRowOut]:
    """Balances (on hand, reserved, available) by product, location and lot, ordered by codes."""
    rows, total = reports.stock_summary(
        session,
        product_id=product_id,
        location_id=location_id,
        category_id=category_id,
        below_min=below_min,
        only_available=only_available,
        limit=page.limit,
        offset=page.offset,
    )
    return page_of([StockRowOut(**r) for r in rows], total, page)


@router.post("/move", status_code=201, response_model=PostedMoveOut)
def post_move(
    body: StockMoveIn,
    session: SessionDep,
    site: SiteDep,
    principal: Annotated[Principal, Depends(require(perm.STOCK_MOVE))],
    idem: IdempotencyDep,
) -> PostedMoveOut:
    """Post a stock move of one or more lines atomically (409 when stock is short and no plugin accepts
    the shortfall). Safe to retry with an Idempotency-Key."""
    posted = stock.post_stock_move(
        session,
        hooks=site.registry.pm.hook,
        lines=[stock.MoveLine(**line.model_dump()) for line in body.lines],
        reference=body.reference,
        note=body.note,
        user=principal.username,
    )
    return idem.remember(PostedMoveOut.model_validate(posted, from_attributes=True), status_code=201)


@router.get("/lot/{lot_id}", response_model=LotDetailOut)
def lot_detail(
    lot_id: int, session: SessionDep, principal: Annotated[Principal, Depends(require(perm.STOCK_VIEW))]
) -> LotDetailOut:
    """A lot: where it is now and every move of it."""
    return LotDetailOut.model_validate(reports.lot_detail(session, lot_id=lot_id), from_attributes=True)


@router.get("/ledger", response_model=Page[LedgerOut])
def product_ledger(
    session: SessionDep,
    page: PageDep,
    principal: Annotated[Principal, Depends(require(perm.STOCK_VIEW))],
    product_id: int,
    location_id: int | None = None,
) -> Page[LedgerOut]:
    """A product's ledger, newest first (optionally only lines touching one location)."""
    rows, total = reports.product_ledger(
        session, product_id=product_id, location_id=location_id, limit=page.limit, offset=page.offset
    )
    return page_of([LedgerOut.model_validate(r) for r in rows], total, page)


@router.post("/reservations", status_code=201, response_model=ReservationOut)
def reserve(
    body: ReserveIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.STOCK_RESERVE))],
    idem: IdempotencyDep,
) -> ReservationOut:
    """Reserve free stock for a document (409 when less is available). Safe to retry with an
    Idempotency-Key."""
    reservation = stock.reserve(session, **body.model_dump(), user=principal.username)
    return idem.remember(ReservationOut.model_validate(reservation), status_code=201)


@router.post("/reservations/{reservation_id}/release", response_model=ReservationOut)
def release(
    reservation_id: int,
    body: ReleaseIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.STOCK_RESERVE))],
    idem: IdempotencyDep,
) -> ReservationOut:
    """Give back part or all of a reservation (409 when more is asked than it holds)."""
    reservation = stock.release(session, reservation_id=reservation_id, quantity=body.quantity)
    return idem.remember(ReservationOut.model_validate(reservation))
