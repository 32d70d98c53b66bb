"""ASGI middleware writing one audit row per mutating API request (method, path, caller, status).

Most requests' rows are written by their unit of work, in the transaction of their change
(``queue_request_row``). This middleware writes the rest when the response starts, before the client
sees it: failed requests (their transaction rolled back), routes without a database session, and the
rare response whose status differs from the one recorded. Requests whose route recorded a dedicated
event (login, refresh, logout, denials) are not recorded twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.audit.recording import AUDITED, RECORDED_STATUS, AuditContext, record_event, request_entry
from kernel.logs import request_id_var
from kernel.middleware import client_address

if TYPE_CHECKING:
    from kernel.site import Site

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
log = logging.getLogger("kernel.audit")


class AuditMiddleware:
    """Records every POST/PUT/PATCH/DELETE under ``api_prefix``."""

    def __init__(self, app: ASGIApp, site: Site, api_prefix: str = "/api/v1") -> None:
        self.app = app
        self.site = site
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in MUTATING
            or not scope.get("path", "").startswith(self.api_prefix)
        ):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})[AUDITED] = True  # the unit of work writes the row when it can

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.setdefault("state", {})
                status = int(message["status"])
                recorded = state.get(RECORDED_STATUS)
                if not state.get("erp_audit_done") or (recorded is not None and recorded != status):
                    await anyio.to_thread.run_sync(self._record, scope, status)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _record(self, scope: Scope, status: int) -> None:
        principal = scope.get("state", {}).get("erp_principal")
        context = AuditContext(
            request_id=request_id_var.get(),
            user_id=principal.user_id if principal else None,
            username=principal.username if principal else None,
            roles=principal.roles if principal else (),
            client_address=client_address(scope) or None,
            method=scope.get("method"),
            path=scope.get("path"),
            chains=self.site.settings.audit_chains,
        )
        try:
            record_event(self.site, request_entry(context, status))
        except Exception:
            # The change itself is committed; failing the response now would invite a retry of it.
            log.exception("could not write the audit row of a request", extra={"path": scope.get("path")})
