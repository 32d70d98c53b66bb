"""Pure-ASGI middleware counting requests and timing them by route template, method and status."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.metrics.registry import http_request_duration, http_requests, http_requests_in_progress

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
"""Route label of requests no route matched: raw paths would let any client create new series."""


def route_template(scope: Scope) -> str:
    """The template of the route that handled the request (``/api/v1/example/notes/{note_id}``).

    Recent FastAPI puts the route as declared in its router into the scope (``/notes/{note_id}``), not
    with the prefix it was included under. The prefix is the part of the path before the tail that the
    route's own pattern matches; the kernel mounts routers under static prefixes only, so it is safe to
    keep verbatim.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or not template:
        return UNMATCHED
    path = scope.get("path", "")
    if pattern is None or pattern.match(path):
        return template
    start = path.find("/", 1)
    while start != -1:
        if pattern.match(path[start:]):
            return path[:start] + template
        start = path.find("/", start + 1)
    return template


class MetricsMiddleware:
    """Records ``erp_http_requests_total`` and ``erp_http_request_duration_seconds`` for HTTP requests.

    The route is read after the app ran, when Starlette's router has put the matched route in the
    scope, so the label is always a template from the code, never a client-chosen path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}  # an exception before the response started is reported as a 500

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        http_requests_in_progress.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            http_requests_in_progress.dec()
            method = scope.get("method", "GET")
            labels = {
                "method": method if method in KNOWN_METHODS else "OTHER",
                "route": route_template(scope),
                "status": str(status["code"]),
            }
            http_requests.labels(**labels).inc()
            http_request_duration.labels(**labels).observe(time.perf_counter() - started)
