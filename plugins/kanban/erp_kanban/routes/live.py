"""The board WebSocket: ``/ws/kanban/boards/{board_id}`` pushes card changes of one board."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from erp_kanban import permissions as perm
from erp_kanban.boards import get_board
from erp_kanban.live import board_channel
from kernel.db import unit_of_work
from kernel.errors import NotFound
from kernel.rbac import Principal, require_ws
from kernel.realtime import accept, get_broadcaster

ws_router = APIRouter()


@ws_router.websocket("/boards/{board_id}")
async def watch_board(
    websocket: WebSocket,
    board_id: int,
    principal: Annotated[Principal, Depends(require_ws(perm.BOARD_VIEW))],
) -> None:
    """Push ``{type, board_id, card}`` for every card created, moved or changed on the board (after
    commit). Closes with 4404 for an unknown board or another department's (department roles)."""
    site = websocket.app.state.site

    def visible() -> None:
        with unit_of_work(site.sessions) as session:
            get_board(session, board_id=board_id, department=principal.department_scope(perm.BOARD_VIEW))

    await accept(websocket)  # accept first, so the client sees why it is closed
    try:
        await run_in_threadpool(visible)  # the database is synchronous: keep it off the event loop
    except NotFound:
        await websocket.close(code=4404, reason=f"board {board_id} does not exist")
        return
    try:
        async for message in get_broadcaster(site).subscribe(board_channel(board_id)):
            await websocket.send_json(message)
    except WebSocketDisconnect:
        return
