"""Boards: one per production department (created on first use), custom boards, columns, allowed moves.

Department boards have the four lifecycle columns (Pending, Approved, In progress, Completed), each
mapped to the card state of the same name, and the moves Pending -> Approved -> In progress ->
Completed. A column mapped to a state holds only cards in that state; a free column (custom boards) lets
a card keep its state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from erp_warehouse.models import Location
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, aliased

from erp_kanban.models import OPEN_STATES, Board, BoardColumn, Card, Transition
from erp_kanban.schemas import BoardIn, BoardPatch, ColumnIn, ColumnPatch, MoveRule
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.db import conflict_insert
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.rbac.roles import PRODUCTION_DEPARTMENTS

LIFECYCLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Pending", "pending"),
    ("Approved", "approved"),
    ("In progress", "in_progress"),
    ("Completed", "completed"),
)
LIFECYCLE_MOVES = (("Pending", "Approved"), ("Approved", "In progress"), ("In progress", "Completed"))
DONE_DAYS = 7
"""Completed cards stay visible on a board this many days after completion."""


def canonical_department(name: str) -> str:
    """The production department as kernel's roles name it ("sewing" -> "Sewing"); 422 when unknown."""
    for department in PRODUCTION_DEPARTMENTS:
        if department.casefold() == name.strip().casefold():
            return department
    raise ValidationFailed(
        f"{name!r} is not a production department ({', '.join(PRODUCTION_DEPARTMENTS)})",
        errors=[{"field": "department", "message": "unknown department"}],
    )


def same_department(a: str | None, b: str | None) -> bool:
    """Case-insensitive department equality (warehouse stores use lower case, roles title case)."""
    return a is not None and b is not None and a.casefold() == b.casefold()


def _add_columns(
    session: Session, board: Board, columns: Sequence[ColumnIn], moves: Sequence[MoveRule]
) -> None:
    states = [c.state for c in columns if c.state]
    names = [c.name for c in columns]
    if len(set(states)) != len(states) or len(set(names)) != len(names):
        raise ValidationFailed(
            "column names and mapped states must be unique on a board",
            errors=[{"field": "columns", "message": "duplicate name or state"}],
        )
    by_name: dict[str, BoardColumn] = {}
    for position, spec in enumerate(columns, start=1):
        column = BoardColumn(
            board_id=board.id, name=spec.name, position=position, wip_limit=spec.wip_limit, state=spec.state
        )
        session.add(column)
        by_name[spec.name] = column
    session.flush()
    _set_moves(session, board, by_name, moves)


def _set_moves(
    session: Session, board: Board, by_name: dict[str, BoardColumn], moves: Sequence[MoveRule]
) -> None:
    errors = [
        {"field": "moves", "message": f"unknown column {name!r}"}
        for m in moves
        for name in (m.from_column, m.to_column)
        if name not in by_name
    ]
    errors += [
        {"field": "moves", "message": f"{m.from_column!r} -> itself"}
        for m in moves
        if m.from_column == m.to_column
    ]
    if errors:
        raise ValidationFailed("invalid allowed moves", errors=errors)
    for pair in sorted({(m.from_column, m.to_column) for m in moves}):
        session.add(
            Transition(
                board_id=board.id, from_column_id=by_name[pair[0]].id, to_column_id=by_name[pair[1]].id
            )
        )
    session.flush()


def lifecycle_columns() -> tuple[list[ColumnIn], list[MoveRule]]:
    """The four lifecycle columns and their forward moves."""
    columns = [ColumnIn(name=n, state=s) for n, s in LIFECYCLE_COLUMNS]  # type: ignore[arg-type]
    return columns, [MoveRule(from_column=a, to_column=b) for a, b in LIFECYCLE_MOVES]


def department_board(session: Session, *, department: str) -> Board:
    """The board of a production department, created with its columns on first use (race-safe)."""
    department = canonical_department(department)
    board = session.scalar(select(Board).where(Board.kind == "department", Board.department == department))
    if board is not None:
        return board
    new_id = session.execute(
        conflict_insert(session, Board.__table__)
        .values(
            code=f"DEPT-{department.upper()}",
            name=f"{department} board",
            kind="department",
            department=department,
            active=True,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(Board.__table__.c.id)
    ).scalar()
    if new_id is None:  # another transaction created it first (and has committed: we waited for it)
        board = session.scalar(
            select(Board).where(Board.kind == "department", Board.department == department)
        )
        if board is None:
            raise Conflict(f"the {department} board is being created; retry")
        return board
    board = session.get_one(Board, new_id)
    _add_columns(session, board, *lifecycle_columns())
    record_change(
        session, entity_type="kanban.board", entity_id=board.id, action="create", new=snapshot(board)
    )
    return board


def ensure_department_boards(session: Session) -> None:
    """Create the boards of every production department that has none yet."""
    have = set(session.scalars(select(Board.department).where(Board.kind == "department")))
    for department in PRODUCTION_DEPARTMENTS:
        if department not in have:
            department_board(session, department=department)


def snapshot(board: Board) -> dict[str, Any]:
    """The audited fields of a board."""
    return {
        "code": board.code,
        "name": board.name,
        "department": board.department,
        "auto_approve_below": None if board.auto_approve_below is None else str(board.auto_approve_below),
        "source_location_id": board.source_location_id,
        "active": board.active,
    }


def get_board(session: Session, *, board_id: int, department: str | None = None, lock: bool = False) -> Board:
    """One board; NotFound when missing or (department-scoped callers) another department's."""
    stmt = select(Board).where(Board.id == board_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    board = session.scalar(stmt)
    if board is None or (department is not None and not same_department(board.department, department)):
        raise NotFound(f"board {board_id} does not exist")
    return board


def list_boards(
    session: Session, *, department: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Board], int]:
    """Active boards (department boards first, in flow order of creation, then custom ones by code)."""
    ensure_department_boards(session)
    stmt = select(Board).where(Board.active)
    if department is not None:
        stmt = stmt.where(func.lower(Board.department) == department.lower())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Board.kind, Board.id).offset(offset).limit(limit))
    return list(rows), total


def columns_of(session: Session, *, board_id: int) -> list[BoardColumn]:
    """A board's columns in position order."""
    return list(
        session.scalars(
            select(BoardColumn)
            .where(BoardColumn.board_id == board_id)
            .order_by(BoardColumn.position, BoardColumn.id)
        )
    )


def moves_of(session: Session, *, board_id: int) -> list[tuple[int, int]]:
    """A board's allowed moves as (from column id, to column id), in column order."""
    source = aliased(BoardColumn)
    target = aliased(BoardColumn)
    rows = session.execute(
        select(Transition.from_column_id, Transition.to_column_id)
        .join(source, source.id == Transition.from_column_id)
        .join(target, target.id == Transition.to_column_id)
        .where(Transition.board_id == board_id)
        .order_by(source.position, target.position)
    )
    return [(a, b) for a, b in rows.tuples()]


def column_for_state(session: Session, *, board_id: int, state: str) -> BoardColumn | None:
    """The column of a board mapped to ``state`` (None when the board has none)."""
    return session.scalar(
        select(BoardColumn).where(BoardColumn.board_id == board_id, BoardColumn.state == state)
    )


def describe(session: Session, board: Board) -> dict[str, Any]:
    """A board as BoardOut expects it: fields, columns and allowed moves."""
    return {
        **{k: getattr(board, k) for k in ("id", "code", "name", "kind", "department", "active")},
        "auto_approve_below": board.auto_approve_below,
        "source_location_id": board.source_location_id,
        "columns": columns_of(session, board_id=board.id),
        "moves": moves_of(session, board_id=board.id),
    }


def _check_source(session: Session, location_id: int | None) -> None:
    if location_id is None:
        return
    location = session.get(Location, location_id)
    if location is None or not location.active or location.kind != "warehouse":
        raise ValidationFailed(
            "the source must be an active warehouse location",
            errors=[{"field": "source_location_id", "message": "not an active warehouse location"}],
        )


def create_board(session: Session, *, data: BoardIn, user: str | None) -> Board:
    """A custom board with its columns (the lifecycle ones when none are given) and allowed moves."""
    if session.scalar(select(Board.id).where(Board.code == data.code)) is not None:
        raise Conflict(f"a board with code {data.code!r} exists")
    _check_source(session, data.source_location_id)
    board = Board(
        code=data.code,
        name=data.name,
        kind="custom",
        department=canonical_department(data.department) if data.department else None,
        auto_approve_below=data.auto_approve_below,
        source_location_id=data.source_location_id,
        active=True,
        created_by=user,
        created_at=utcnow(),
    )
    session.add(board)
    session.flush()
    columns, moves = (data.columns, data.moves) if data.columns else lifecycle_columns()
    _add_columns(session, board, columns, moves)
    record_change(
        session, entity_type="kanban.board", entity_id=board.id, action="create", new=snapshot(board)
    )
    return board


def update_board(session: Session, *, board_id: int, data: BoardPatch) -> Board:
    """Change a board's name, auto-approve threshold, source location or active flag."""
    board = get_board(session, board_id=board_id, lock=True)
    old = snapshot(board)
    changes = data.model_dump(exclude_unset=True)
    if "source_location_id" in changes:
        _check_source(session, changes["source_location_id"])
    if changes.get("name") is None:
        changes.pop("name", None)
    if changes.get("active") is None:
        changes.pop("active", None)
    for field, value in changes.items():
        setattr(board, field, value)
    session.flush()
    record_change(
        session, entity_type="kanban.board", entity_id=board.id, action="update", old=old, new=snapshot(board)
    )
    return board


def add_column(session: Session, *, board_id: int, data: ColumnIn) -> BoardColumn:
    """Append a column to a board (mapped to a state the board has no column for, or free)."""
    board = get_board(session, board_id=board_id, lock=True)
    existing = columns_of(session, board_id=board.id)
    if any(c.name == data.name for c in existing) or (
        data.state and any(c.state == data.state for c in existing)
    ):
        raise Conflict(
            f"board {board.code} already has a column named {data.name!r} or mapped to {data.state}"
        )
    column = BoardColumn(
        board_id=board.id,
        name=data.name,
        position=max((c.position for c in existing), default=0) + 1,
        wip_limit=data.wip_limit,
        state=data.state,
    )
    session.add(column)
    session.flush()
    record_change(
        session,
        entity_type="kanban.column",
        entity_id=column.id,
        action="create",
        new=data.model_dump(mode="json"),
    )
    return column


def update_column(session: Session, *, board_id: int, column_id: int, data: ColumnPatch) -> BoardColumn:
    """Rename, reorder or change the WIP limit of a column (a lower limit applies to later moves)."""
    get_board(session, board_id=board_id, lock=True)
    column = session.get(BoardColumn, column_id)
    if column is None or column.board_id != board_id:
        raise NotFound(f"column {column_id} of board {board_id} does not exist")
    old = {"name": column.name, "position": column.position, "wip_limit": column.wip_limit}
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "position"):
        if changes.get(field, 0) is None:
            changes.pop(field)
    if "name" in changes and session.scalar(
        select(BoardColumn.id).where(
            BoardColumn.board_id == board_id, BoardColumn.name == changes["name"], BoardColumn.id != column_id
        )
    ):
        raise Conflict(f"board {board_id} already has a column named {changes['name']!r}")
    for field, value in changes.items():
        setattr(column, field, value)
    session.flush()
    new = {"name": column.name, "position": column.position, "wip_limit": column.wip_limit}
    record_change(
        session, entity_type="kanban.column", entity_id=column.id, action="update", old=old, new=new
    )
    return column


def set_moves(session: Session, *, board_id: int, moves: Sequence[MoveRule]) -> Board:
    """Replace a board's allowed moves."""
    board = get_board(session, board_id=board_id, lock=True)
    old = moves_of(session, board_id=board.id)
    session.query(Transition).filter(Transition.board_id == board.id).delete()
    _set_moves(session, board, {c.name: c for c in columns_of(session, board_id=board.id)}, moves)
    record_change(
        session,
        entity_type="kanban.board",
        entity_id=board.id,
        action="set_moves",
        old={"moves": old},
        new={"moves": moves_of(session, board_id=board.id)},
    )
    return board


def board_cards(
    session: Session,
    *,
    board: Board,
    today: Any,
    priority: str | None = None,
    product_id: int | None = None,
    overdue: bool = False,
) -> list[dict[str, Any]]:
    """The board's columns with their cards: open ones, and those completed in the last DONE_DAYS."""
    columns = columns_of(session, board_id=board.id)
    recent = utcnow() - timedelta(days=DONE_DAYS)
    stmt = select(Card).where(
        Card.board_id == board.id,
        Card.column_id.is_not(None),
        Card.state.in_(OPEN_STATES) | ((Card.state == "completed") & (Card.completed_at >= recent)),
    )
    if priority:
        stmt = stmt.where(Card.priority == priority)
    if product_id is not None:
        stmt = stmt.where(Card.product_id == product_id)
    if overdue:
        stmt = stmt.where(Card.needed_by < today, Card.state.in_(OPEN_STATES))
    order = text("CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END")
    cards = list(session.scalars(stmt.order_by(order, Card.needed_by.nulls_last(), Card.id)))
    counts = dict(
        session.execute(
            select(Card.column_id, func.count(Card.id))
            .where(Card.board_id == board.id, Card.state.in_(OPEN_STATES))
            .group_by(Card.column_id)
        )
        .tuples()
        .all()
    )
    result = []
    for column in columns:
        open_count = counts.get(column.id, 0)
        result.append(
            {
                "column": column,
                "open_count": open_count,
                "over_limit": column.wip_limit is not None and open_count > column.wip_limit,
                "cards": [c for c in cards if c.column_id == column.id],
            }
        )
    return result
