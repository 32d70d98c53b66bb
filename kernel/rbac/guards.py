"""Route guards: ``require("<permission>")``, ``public()`` and the start-up check that every route has one.

A guard is a FastAPI dependency object; the start-up check finds it in each route's dependency tree,
so no route can be mounted without saying who may call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, Mount

from kernel.deps import SessionDep
from kernel.errors import PermissionDenied
from kernel.plugins import PluginError
from kernel.rbac.principal import Principal

SELF_SERVICE_PREFIX = "/api/v1/auth/"


class RequirePermission:
    """Dependency: the caller is authenticated and holds ``permission``; returns the Principal.

    A denial is written to the audit trail (in its own transaction, since the request's rolls back)
    and answered with 403; a missing, invalid or revoked token with 401.
    """

    def __init__(self, permission: str) -> None:
        self.permission = permission

    def __call__(self, connection: HTTPConnection, session: SessionDep) -> Principal:
        from kernel.auth.service import authenticate_connection

        principal = authenticate_connection(connection, session)
        if not principal.has(self.permission):
            from kernel.audit.recording import record_security_event

            record_security_event(
                connection,
                action="auth.denied",
                principal=principal,
                status=403,
                detail={"permission": self.permission},
            )
            raise PermissionDenied(f"missing permission {self.permission}")
        return principal

    def __repr__(self) -> str:
        return f"require({self.permission!r})"


class RequireWebSocketPermission(RequirePermission):
    """WebSocket variant of ``require``: checks the token once, in a short transaction of its own.

    A WebSocket stays open for hours; holding the request's database session that long would pin a
    pooled connection, so the check opens and closes its own. Refusals close the handshake (403).
    """

    def __call__(self, connection: HTTPConnection) -> Principal:  # type: ignore[override]
        from kernel.auth.service import authenticate_connection
        from kernel.db import unit_of_work

        with unit_of_work(connection.app.state.site.sessions) as session:
            principal = authenticate_connection(connection, session)
        if not principal.has(self.permission):
            raise PermissionDenied(f"missing permission {self.permission}")
        return principal

    def __repr__(self) -> str:
        return f"require_ws({self.permission!r})"


class Authenticated:
    """Dependency for the caller's own account (me, logout, change password): any valid session.

    Only routes under ``/api/v1/auth/`` may use it; everything else names a permission.
    """

    def __call__(self, connection: HTTPConnection, session: SessionDep) -> Principal:
        from kernel.auth.service import authenticate_connection

        return authenticate_connection(connection, session)


class Public:
    """Marker dependency: the route is deliberately open to anonymous callers (login, health...)."""

    def __call__(self) -> None:
        return None


def require(permission: str) -> RequirePermission:
    """Guard a route with ``permission``: ``Annotated[Principal, Depends(require("plugin.res.act"))]``.

    The name is checked against the declared permissions when the app is built; an unknown name stops
    start-up instead of silently meaning something else.
    """
    return RequirePermission(permission)


def require_ws(permission: str) -> RequireWebSocketPermission:
    """Guard a WebSocket endpoint with ``permission`` (token in the header or the ``bearer`` subprotocol)."""
    return RequireWebSocketPermission(permission)


def authenticated() -> Authenticated:
    """Guard for self-service routes of the kernel's ``/api/v1/auth`` (the caller's own account)."""
    return Authenticated()


def public() -> Public:
    """Mark a route as public: ``@router.post("/login", dependencies=[Depends(public())])``."""
    return Public()


def _guards(dependant: Dependant | None) -> Iterable[Any]:
    if dependant is None:
        return
    for dep in dependant.dependencies:
        if isinstance(dep.call, RequirePermission | Authenticated | Public):
            yield dep.call
        yield from _guards(dep)


@dataclass(frozen=True)
class MountedRoute:
    """A route as the app serves it: full path, methods, the original route and its dependency tree."""

    path: str
    methods: frozenset[str]
    route: BaseRoute
    dependant: Dependant | None

    @property
    def is_api_route(self) -> bool:
        """True for FastAPI HTTP and WebSocket routes (the ones that can carry dependencies)."""
        return isinstance(self.route, APIRoute | APIWebSocketRoute)


def mounted_routes(app: FastAPI) -> list[MountedRoute]:
    """Every route of the app with its effective path and dependencies (included routers flattened)."""
    iter_contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    found = []
    if iter_contexts is None:  # FastAPI before included routers were kept lazily: routes are flat
        for route in app.routes:
            methods = frozenset(getattr(route, "methods", None) or ())
            found.append(
                MountedRoute(getattr(route, "path", ""), methods, route, getattr(route, "dependant", None))
            )
        return found
    for context in iter_contexts(app.routes):
        found.append(
            MountedRoute(
                context.path or "",
                frozenset(context.methods or ()),
                context.original_route,
                getattr(context, "dependant", None),
            )
        )
    return found


def route_guards(route: MountedRoute) -> list[Any]:
    """The guard dependencies found anywhere in a route's dependency tree."""
    return list(_guards(route.dependant))


def check_routes(app: FastAPI, declared: set[str], api_prefix: str = "/api/v1") -> None:
    """Refuse an app with an unguarded route or a guard naming an undeclared permission (PluginError)."""
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url} - {None}
    problems: list[str] = []
    for route in mounted_routes(app):
        problems.extend(_route_problems(route, declared, docs, api_prefix))
    if problems:
        raise PluginError("; ".join(problems))


def _route_problems(route: MountedRoute, declared: set[str], docs: set[Any], api_prefix: str) -> list[str]:
    path = route.path
    if not route.is_api_route:
        if path in docs:
            return []
        if isinstance(route.route, Mount) and not path.startswith(api_prefix):
            return []  # static files or /metrics: no FastAPI dependencies to inspect, outside the API
        if path.startswith(api_prefix):
            return [f"route {path} is not a FastAPI route, so it cannot declare a permission"]
        return []
    methods = ",".join(sorted(route.methods or {"WS"}))
    guards = route_guards(route)
    where = f"route {methods} {path}"
    if not guards:
        return [
            f"{where} declares no permission: add Depends(require('<plugin>.<resource>.<action>')) "
            "or mark it public()"
        ]
    problems = []
    for guard in guards:
        if isinstance(guard, RequirePermission) and guard.permission not in declared:
            problems.append(
                f"{where} requires unknown permission {guard.permission!r} "
                "(not declared by any enabled plugin's erp_permissions)"
            )
        if isinstance(guard, Authenticated) and not path.startswith(SELF_SERVICE_PREFIX):
            problems.append(
                f"{where} uses authenticated(), which is reserved for /api/v1/auth; use require(...)"
            )
    return problems
