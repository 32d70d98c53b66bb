"""Every route declares who may call it; the route x role matrix is generated from the route table."""

from __future__ import annotations

import re
import types
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import select

from kernel.app import create_app
from kernel.plugins import LoadedPlugin, PluginError, PluginManifest, hookimpl
from kernel.rbac import ROLES, Permission, Principal, require
from kernel.rbac.guards import Authenticated, Public, RequirePermission, mounted_routes, route_guards
from kernel.rbac.models import Grant
from kernel.testing import all_plugin_names, create_test_user, login_headers

PUBLIC_ROUTES = {"/health/live", "/health/ready", "/api/v1/auth/login", "/api/v1/auth/refresh"}


def _add_plugin(site, name: str, **hooks: Any) -> None:
    """Register one more plugin module on a built site (as if installed and enabled)."""
    module = types.ModuleType(f"erp_{name}.plugin")
    module.manifest = PluginManifest(name=name, version="0.0.1", kernel_api=(1,))  # type: ignore[attr-defined]
    for hook, fn in hooks.items():
        setattr(module, hook, hookimpl(fn))
    site.registry.pm.register(module, name=name)
    site.registry.plugins.append(LoadedPlugin(module.manifest, module))  # type: ignore[attr-defined]


def test_every_route_is_guarded_or_explicitly_public(make_app) -> None:
    app = make_app(all_plugin_names())
    public = set()
    for route in mounted_routes(app):
        if not route.is_api_route:
            assert route.path in {"/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"}, route.path
            continue
        guards = route_guards(route)
        assert guards, f"{route.path} has no guard"
        if any(isinstance(g, Public) for g in guards):
            public.add(route.path)
        if any(isinstance(g, Authenticated) for g in guards):
            assert route.path.startswith("/api/v1/auth/")
    assert public == PUBLIC_ROUTES


def test_an_unguarded_route_stops_start_up(make_site) -> None:
    site = make_site(["example"])
    router = APIRouter()

    @router.get("/open")
    def open_route() -> dict[str, str]:
        return {"oops": "no permission"}

    _add_plugin(site, "leaky", erp_routers=lambda: [router])
    with pytest.raises(PluginError, match=r"GET /api/v1/leaky/open declares no permission"):
        create_app(site.settings, site=site)


def test_unknown_permission_names_stop_start_up_instead_of_mapping_to_view(make_site) -> None:
    site = make_site(["example"])
    router = APIRouter()

    @router.delete("/notes/{note_id}")
    def delete_note(note_id: int, p: Annotated[Principal, Depends(require("example.notes.delete"))]) -> None:
        return None

    _add_plugin(site, "typo", erp_routers=lambda: [router])
    with pytest.raises(PluginError, match=r"unknown permission 'example\.notes\.delete'"):
        create_app(site.settings, site=site)


def test_erp_permissions_defined_twice_stop_start_up_naming_the_plugin(make_site) -> None:
    site = make_site(["example"])
    twice = [Permission("dupe.things.view", "See things.", ()), Permission("dupe.things.view", "Again.", ())]
    _add_plugin(site, "dupe", erp_permissions=lambda: twice)
    with pytest.raises(PluginError, match=r"plugin 'dupe': permission 'dupe.things.view' is defined twice"):
        create_app(site.settings, site=site)


@pytest.mark.parametrize(
    ("permission", "message"),
    [
        (Permission("example.notes.view", "Steal another plugin's name.", ()), "must start with 'thief.'"),
        (Permission("thief.Notes.view", "Bad case.", ()), "is not named"),
        (Permission("thief.notes", "Two parts.", ()), "is not named"),
        (Permission("thief.notes.view", "Unknown role.", ("Boss",)), "unknown role"),
    ],
)
def test_malformed_permission_declarations_stop_start_up(make_site, permission, message) -> None:
    site = make_site(["example"])
    _add_plugin(site, "thief", erp_permissions=lambda: [permission])
    with pytest.raises(PluginError, match=message):
        create_app(site.settings, site=site)


def _connect_ws(client, path: str, headers: dict[str, str]) -> int:
    """Open and close a WebSocket: 101 when accepted, 403 when the handshake is refused."""
    from starlette.websockets import WebSocketDisconnect

    try:
        with client.websocket_connect(path, headers=headers):
            return 101
    except WebSocketDisconnect:
        return 403


def _call(client, route, headers: dict[str, str]):
    path = re.sub(r"\{[^}]+\}", "999999", route.path)
    if not route.methods:  # a WebSocket route
        return type("WsResult", (), {"status_code": _connect_ws(client, path, headers), "text": ""})()
    method = sorted(route.methods)[0]
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return client.request(method, path, **kwargs)


def test_route_role_matrix_forbids_exactly_the_roles_without_the_permission(make_client) -> None:
    """For every guarded route of every plugin: 403 without the permission, never 403 with it."""
    client = make_client(all_plugin_names())
    site = client.app.state.site
    with site.sessions() as session:
        grants: dict[str, set[str]] = {r: set() for r in ROLES}
        for role, permission in session.execute(select(Grant.role_name, Grant.permission_name)):
            grants[role].add(permission)
    headers = {}
    for role in ROLES:
        user, password = create_test_user(site, role)
        headers[role] = login_headers(client, user.username, password)
    checked = 0
    for route in mounted_routes(client.app):
        if not route.is_api_route:
            continue
        required = [g.permission for g in route_guards(route) if isinstance(g, RequirePermission)]
        if not required:
            continue
        for role in ROLES:
            allowed = all(p in grants[role] for p in required)
            resp = _call(client, route, headers[role])
            assert resp.status_code != 401, (route.path, role, resp.text)
            if allowed:
                assert resp.status_code != 403, (route.path, role, resp.text)
            else:
                assert resp.status_code == 403, (route.path, role, resp.status_code)
            checked += 1
    assert checked >= 11 * len(ROLES)


def test_guarded_routes_answer_401_without_a_token(make_client) -> None:
    client = make_client(all_plugin_names())
    for route in mounted_routes(client.app):
        if route.is_api_route and route.path not in PUBLIC_ROUTES:
            # A refused WebSocket handshake carries no status body; it is simply not accepted.
            expected = 403 if not route.methods else 401
            assert _call(client, route, {}).status_code == expected, route.path
