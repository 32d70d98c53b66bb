"""Users and roles administration, grants that survive restarts, department scope, no bypass."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from kernel.app import create_app
from kernel.rbac import ROLES, Principal
from kernel.rbac.models import Grant, Role
from kernel.testing import create_test_user, login_headers


def test_the_22_roles_exist_out_of_the_box(make_client, auth_headers) -> None:
    client = make_client([])
    resp = client.get("/api/v1/roles", headers=auth_headers(client, "Superadmin"))
    assert resp.status_code == 200
    body = resp.json()
    assert [r["name"] for r in body["items"]] == list(ROLES)
    scoped = {r["name"]: r["department"] for r in body["items"] if r["department"]}
    assert scoped["SPV Sewing"] == "Sewing" and scoped["Admin Packing"] == "Packing"
    assert {p["name"] for p in body["permissions"]} >= {"kernel.meta.view", "kernel.users.create"}


def test_superadmin_holds_every_permission_explicitly(make_client) -> None:
    client = make_client(["example"])
    site = client.app.state.site
    with site.sessions() as session:
        granted = set(session.scalars(select(Grant.permission_name).where(Grant.role_name == "Superadmin")))
    from kernel.rbac.permissions import declared_permissions

    assert granted == set(declared_permissions(site))


def test_manager_does_not_bypass_checks(make_client, auth_headers) -> None:
    client = make_client(["example"])
    manager = auth_headers(client, "Manager")
    assert client.get("/api/v1/users", headers=manager).status_code == 403
    assert client.post("/api/v1/example/notes", json={"text": "x"}, headers=manager).status_code == 403
    assert (
        client.put("/api/v1/roles/Manager/permissions", json={"permissions": []}, headers=manager).status_code
        == 403
    )


def test_user_administration_round_trip(make_client, auth_headers) -> None:
    client = make_client([])
    admin = auth_headers(client, "Superadmin")
    created = client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "Siti.Sewing",
            "full_name": "Siti",
            "email": "siti@example.com",
            "roles": ["SPV Sewing"],
            "password": "sewing-password-1",
        },
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["username"] == "siti.sewing" and user["department"] == "Sewing" and user["is_active"]
    assert "password" not in user and "password_hash" not in user
    dup = client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "siti.sewing",
            "full_name": "Again",
            "roles": ["Security"],
            "password": "another-password",
        },
    )
    assert dup.status_code == 409
    listed = client.get("/api/v1/users", params={"role": "SPV Sewing", "department": "Sewing"}, headers=admin)
    assert [u["username"] for u in listed.json()["items"]] == ["siti.sewing"] and listed.json()["total"] == 1
    patched = client.patch(
        f"/api/v1/users/{user['id']}",
        headers=admin,
        json={"full_name": "Siti Aminah", "roles": ["SPV Sewing", "QC Inspector"]},
    )
    assert patched.status_code == 200 and patched.json()["roles"] == ["QC Inspector", "SPV Sewing"]
    siti = login_headers(client, "siti.sewing", "sewing-password-1")
    assert client.post(f"/api/v1/users/{user['id']}/deactivate", headers=admin).json()["is_active"] is False
    assert client.get("/api/v1/auth/me", headers=siti).status_code == 401
    assert client.get("/api/v1/users", params={"active": False}, headers=admin).json()["total"] == 1
    assert client.post(f"/api/v1/users/{user['id']}/reactivate", headers=admin).json()["is_active"] is True
    reset = client.post(
        f"/api/v1/users/{user['id']}/reset-password", headers=admin, json={"password": "reset-by-admin-1"}
    )
    assert reset.status_code == 204
    assert login_headers(client, "siti.sewing", "reset-by-admin-1")
    assert client.get("/api/v1/users/999999", headers=admin).status_code == 404


def test_bad_user_input_is_a_clear_4xx(make_client, auth_headers) -> None:
    client = make_client([])
    admin = auth_headers(client, "Superadmin")
    base = {"username": "budi", "full_name": "Budi", "roles": ["Security"], "password": "budi-password-1"}
    for change, field in [
        ({"roles": ["Boss"]}, "roles"),
        ({"roles": []}, "roles"),
        ({"department": "Kitchen"}, "department"),
        ({"roles": ["SPV Sewing"], "department": "Cutting"}, "department"),
        ({"roles": ["SPV Sewing", "Admin Cutting"]}, "roles"),
        ({"password": "short"}, "password"),
        ({"username": "a b"}, "username"),
        ({"email": "not-an-email"}, "email"),
    ]:
        resp = client.post("/api/v1/users", headers=admin, json={**base, **change})
        assert resp.status_code == 422, (change, resp.text)
        assert field in {e["field"] for e in resp.json().get("errors", [])}, (change, resp.json())


def test_nobody_hands_out_permissions_they_lack(make_client, auth_headers) -> None:
    client = make_client([])
    site = client.app.state.site
    admin = auth_headers(client, "Superadmin")
    # An Admin who was given user creation still cannot create a Superadmin.
    grants = client.get("/api/v1/roles", headers=admin).json()["items"]
    admin_grants = next(r["permissions"] for r in grants if r["name"] == "Admin")
    resp = client.put(
        "/api/v1/roles/Admin/permissions",
        headers=admin,
        json={"permissions": [*admin_grants, "kernel.users.create"]},
    )
    assert resp.status_code == 200
    user, password = create_test_user(site, "Admin")
    office = login_headers(client, user.username, password)
    escalate = client.post(
        "/api/v1/users",
        headers=office,
        json={
            "username": "mallory",
            "full_name": "M",
            "roles": ["Superadmin"],
            "password": "mallory-password",
        },
    )
    assert escalate.status_code == 403
    ok = client.post(
        "/api/v1/users",
        headers=office,
        json={
            "username": "guard1",
            "full_name": "Guard",
            "roles": ["Security"],
            "password": "guard-password-1",
        },
    )
    assert ok.status_code == 201


def test_grant_changes_hold_across_restarts_and_plugin_upgrades(make_client, make_site, auth_headers) -> None:
    client = make_client(["example"])
    admin = auth_headers(client, "Superadmin")
    resp = client.put(
        "/api/v1/roles/Warehouse Admin/permissions",
        headers=admin,
        json={"permissions": ["kernel.meta.view", "example.notes.view"]},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["permissions"] == ["example.notes.view", "kernel.meta.view"]
    # A restart (a new app on the same database) syncs permissions again: the revoked grant stays revoked.
    site = make_site(["example"])
    with TestClient(create_app(site.settings, site=site)) as restarted:
        with site.sessions() as session:
            granted = set(
                session.scalars(select(Grant.permission_name).where(Grant.role_name == "Warehouse Admin"))
            )
        assert granted == {"kernel.meta.view", "example.notes.view"}
        wa = create_test_user(site, "Warehouse Admin")
        headers = login_headers(restarted, wa[0].username, wa[1])
        assert restarted.post("/api/v1/example/notes", json={"text": "x"}, headers=headers).status_code == 403


def test_unknown_permission_names_in_a_grant_change_are_refused(make_client, auth_headers) -> None:
    client = make_client([])
    admin = auth_headers(client, "Superadmin")
    resp = client.put(
        "/api/v1/roles/Security/permissions",
        headers=admin,
        json={"permissions": ["kernel.meta.view", "warehouse.everything.do"]},
    )
    assert resp.status_code == 422 and "warehouse.everything.do" in resp.json()["detail"]
    assert (
        client.put("/api/v1/roles/Nobody/permissions", headers=admin, json={"permissions": []}).status_code
        == 404
    )
    assert (
        client.put(
            "/api/v1/roles/Superadmin/permissions", headers=admin, json={"permissions": []}
        ).status_code
        == 409
    )


def test_department_scope_of_department_roles(make_client) -> None:
    client = make_client(["example"])
    site = client.app.state.site
    with site.sessions.begin() as session:
        session.add(Grant(role_name="SPV Sewing", permission_name="example.notes.view"))
    spv, spv_pw = create_test_user(site, "SPV Sewing")
    both, both_pw = create_test_user(site, roles=["SPV Sewing", "Manager"])
    from kernel.auth.service import authenticate_token

    def principal(username: str, password: str) -> Principal:
        token = client.post("/api/v1/auth/login", json={"username": username, "password": password}).json()
        with site.sessions() as session:
            return authenticate_token(site, session, token["access_token"])

    scoped = principal(spv.username, spv_pw)
    assert scoped.department == "Sewing"
    assert scoped.department_scope("example.notes.view") == "Sewing"
    # The same permission through an unscoped role (Manager) covers every department.
    assert principal(both.username, both_pw).department_scope("example.notes.view") is None
    import pytest

    from kernel.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        scoped.department_scope("kernel.users.create")


def test_roles_table_is_seeded_by_migration(make_site) -> None:
    site = make_site([])
    with site.sessions() as session:
        assert set(session.scalars(select(Role.name))) == set(ROLES)
