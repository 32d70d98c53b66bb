"""Board routes: list, detail with cards grouped by column, custom boards, columns, allowed moves."""

from __future__ import annotations

from typing import Annotated

from erp_production.daily import site_today
from fastapi import APIRouter, Depends

from erp_kanban import boards as service
from erp_kanban import permissions as perm
from erp_kanban.schemas import (
    BoardDetailOut,
    BoardIn,
    BoardOut,
    BoardPatch,
    ColumnIn,
    ColumnOut,
    ColumnPatch,
    MoveRule,
    Priority,
)
from kernel.deps import SessionDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/boards", tags=["kanban: boards"])


@router.get("", response_model=Page[BoardOut])
def list_boards(
    session: SessionDep, page: PageDep, principal: Annotated[Principal, Depends(require(perm.BOARD_VIEW))]
) -> Page[BoardOut]:
    """Active boards (a board per production department always exists); department roles see their own."""
    rows, total = service.list_boards(
        session, department=principal.department_scope(perm.BOARD_VIEW), limit=page.limit, offset=page.offset
    )
    items = [BoardOut.model_validate(service.describe(session, b)) for b in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, response_model=BoardOut)
def create_board(
    body: BoardIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.BOARD_MANAGE))],
    idem: IdempotencyDep,
) -> BoardOut:
    """Create a custom board (lifecycle columns unless ``columns`` are given). Safe to retry with an
    Idempotency-Key."""
    board = service.create_board(session, data=body, user=principal.username)
    return idem.remember(BoardOut.model_validate(service.describe(session, board)), status_code=201)


@router.get("/{board_id}", response_model=BoardDetailOut)
def board_detail(
    board_id: int,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.BOARD_VIEW))],
    priority: Priority | None = None,
    product_id: int | None = None,
    overdue: bool = False,
) -> BoardDetailOut:
    """A board with its cards grouped by column (open ones, and those completed in the last 7 days),
    filtered by priority, product or overdue (needed-by date passed, still open)."""
    board = service.get_board(
        session, board_id=board_id, department=principal.department_scope(perm.BOARD_VIEW)
    )
    columns = service.board_cards(
        session,
        board=board,
        today=site_today(session),
        priority=priority,
        product_id=product_id,
        overdue=overdue,
    )
    return BoardDetailOut.model_validate(
        {"board": service.describe(session, board), "columns": columns}, from_attributes=True
    )


@router.patch("/{board_id}", response_model=BoardOut)
def update_board(
    board_id: int,
    body: BoardPatch,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.BOARD_MANAGE))],
) -> BoardOut:
    """Change a board's name, auto-approve threshold, source warehouse or active flag."""
    board = service.update_board(session, board_id=board_id, data=body)
    return BoardOut.model_validate(service.describe(session, board))


@router.post("/{board_id}/columns", status_code=201, response_model=ColumnOut)
def add_column(
    board_id: int,
    body: ColumnIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.BOARD_MANAGE))],
) -> ColumnOut:
    """Append a column (free, or mapped to a card state the board has no column for)."""
    return ColumnOut.model_validate(service.add_column(session, board_id=board_id, data=body))


@router.patch("/{board_id}/columns/{column_id}", response_model=ColumnOut)
def update_column(
    board_id: int,
    column_id: int,
    body: ColumnPatch,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.BOARD_MANAGE))],
) -> ColumnOut:
    """Rename or reorder a column, or change its WIP limit (``null`` removes it)."""
    return ColumnOut.model_validate(
        service.update_column(session, board_id=board_id, column_id=column_id, data=body)
    )


@router.put("/{board_id}/moves", response_model=BoardOut)
def set_moves(
    board_id: int,
    body: list[MoveRule],
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.BOARD_MANAGE))],
) -> BoardOut:
    """Replace the board's allowed moves (pairs of column names)."""
    board = service.set_moves(session, board_id=board_id, moves=body)
    return BoardOut.model_validate(service.describe(session, board))
