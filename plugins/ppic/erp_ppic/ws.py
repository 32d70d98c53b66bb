"""``/ws/ppic/dashboard``: the dashboard on connect, then again after every change.

Changes arrive as messages on the ``ppic.dashboard`` realtime channel (Redis pub/sub when the site has
``redis_url``, so a change made through any API worker or event worker reaches every worker's
clients). Each API process keeps one subscription and recomputes the dashboard once per burst of
changes for all its clients (a hub per event loop), not once per client per message; a slow client
only ever gets the latest figures. Without changes the figures are still refreshed every
``dashboard_refresh_seconds`` (default 60), since time alone moves "today" and lateness.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket

from erp_ppic.dashboard import CHANNEL, compute_dashboard
from erp_ppic.schemas_live import DashboardOut
from kernel.rbac import Principal, require_ws
from kernel.realtime import accept, get_broadcaster
from kernel.site import Site

ws_router = APIRouter()
log = logging.getLogger("erp_ppic.ws")
DEBOUNCE_SECONDS = 0.05
"""How long a hub waits after a change for more before recomputing (bursts cost one computation)."""


def dashboard_message(site: Site) -> dict[str, Any]:
    """The current dashboard as the WebSocket sends it (computed in a session of its own)."""
    with site.sessions() as session:
        data = DashboardOut.model_validate(compute_dashboard(session)).model_dump(mode="json")
    return {"type": "dashboard", "data": data}


def _offer(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    """Put ``message`` in a one-slot queue, replacing what the client has not taken yet."""
    with contextlib.suppress(asyncio.QueueEmpty):
        queue.get_nowait()
    queue.put_nowait(message)


class DashboardHub:
    """The clients of one event loop: one channel subscription, one recomputation per change burst."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.clients: set[asyncio.Queue[dict[str, Any]]] = set()
        self.changed = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.refresh = float(site.settings.plugin_settings("ppic").get("dashboard_refresh_seconds", 60))

    def join(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue receiving every recomputed dashboard (starts the hub for the first client)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1)
        self.clients.add(queue)
        if not self.tasks:
            self.tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._recompute())]
        return queue

    def leave(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Forget a client (stops the hub with the last one)."""
        self.clients.discard(queue)
        if not self.clients:
            for task in self.tasks:
                task.cancel()
            self.tasks = []

    async def _listen(self) -> None:
        while True:  # a lost subscription (Redis restarting) is renewed; clients keep their socket
            try:
                async for _ in get_broadcaster(self.site).subscribe(CHANNEL):
                    self.changed.set()
            except Exception:
                log.warning("dashboard channel subscription lost; renewing in 1 s", exc_info=True)
                await asyncio.sleep(1)
                self.changed.set()  # changes may have been missed meanwhile

    async def _recompute(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=self.refresh)
                await asyncio.sleep(DEBOUNCE_SECONDS)
            self.changed.clear()
            try:
                message = await asyncio.to_thread(dashboard_message, self.site)
            except Exception:
                log.warning("dashboard recomputation failed; retrying at the next change", exc_info=True)
                continue
            for queue in list(self.clients):
                _offer(queue, message)


def hub_of(site: Site) -> DashboardHub:
    """The hub of the running event loop."""
    hubs: dict[asyncio.AbstractEventLoop, DashboardHub] = site.services.setdefault("ppic_dashboard_hubs", {})
    loop = asyncio.get_running_loop()
    if loop not in hubs:
        hubs[loop] = DashboardHub(site)
    return hubs[loop]


async def _forward(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await websocket.send_json(await queue.get())


@ws_router.websocket("/dashboard")
async def dashboard_feed(
    websocket: WebSocket, principal: Annotated[Principal, Depends(require_ws("ppic.dashboard.view"))]
) -> None:
    """Send ``{"type": "dashboard", "data": <GET /dashboard/real-time>}`` now and after each change."""
    site: Site = websocket.app.state.site
    await accept(websocket)
    hub = hub_of(site)
    queue = hub.join()
    forward = asyncio.create_task(_forward(websocket, queue))
    try:
        _offer(queue, await asyncio.to_thread(dashboard_message, site))
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # the client has nothing to say; reading notices when it leaves
    finally:
        forward.cancel()
        hub.leave(queue)
