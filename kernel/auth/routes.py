"""``/api/v1/auth``, ``/api/v1/users`` and ``/api/v1/roles``: thin routes over the auth services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from kernel.audit.recording import context_of
from kernel.auth import service, users
from kernel.auth.runtime import auth_runtime
from kernel.auth.schemas import (
    ChangePasswordIn,
    GrantsIn,
    LoginIn,
    PasswordReset,
    PermissionOut,
    RefreshIn,
    RoleList,
    RoleOut,
    SessionUser,
    TokenPair,
    UserCreate,
    UserOut,
    UserUpdate,
)
from kernel.deps import SessionDep, SiteDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, authenticated, public, require
from kernel.rbac import service as roles_service
from kernel.rbac.permissions import declared_permissions

auth_router = APIRouter(prefix="/auth", tags=["auth"])
users_router = APIRouter(prefix="/users", tags=["users"])
roles_router = APIRouter(prefix="/roles", tags=["roles"])

Me = Annotated[Principal, Depends(authenticated())]


def _session_user(principal: Principal) -> SessionUser:
    return SessionUser(
        id=principal.user_id,
        username=principal.username,
        full_name=principal.full_name,
        department=principal.department,
        roles=list(principal.roles),
        permissions=sorted(principal.permissions),
    )


def _pair(issued: service.IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
        user=_session_user(issued.principal),
    )


# --- auth ---------------------------------------------------------------------------------------


@auth_router.post(
    "/login",
    response_model=TokenPair,
    dependencies=[Depends(public())],
    responses={401: {"description": "invalid credentials"}, 429: {"description": "throttled"}},
)
def login(body: LoginIn, request: Request, site: SiteDep, session: SessionDep) -> TokenPair:
    """Sign in with username and password; returns an access token (~15 min) and a refresh token."""
    request.state.erp_audit_done = True  # the service records success and failure itself
    context = context_of(request, None, site.settings.audit_chains)
    issued = service.login(site, session, username=body.username, password=body.password, context=context)
    return _pair(issued)


@auth_router.post("/refresh", response_model=TokenPair, dependencies=[Depends(public())])
def refresh(body: RefreshIn, request: Request, site: SiteDep, session: SessionDep) -> TokenPair:
    """Exchange a refresh token for a new pair; the presented one is spent. Reuse revokes the session."""
    context = context_of(request, None, site.settings.audit_chains)
    return _pair(service.refresh(site, session, refresh_token=body.refresh_token, context=context))


@auth_router.post("/logout", status_code=204)
def logout(principal: Me, request: Request, site: SiteDep, session: SessionDep) -> Response:
    """End the current session at once (its access and refresh tokens stop working)."""
    request.state.erp_audit_done = True
    service.logout(site, session, principal=principal)
    return Response(status_code=204)


@auth_router.get("/me", response_model=SessionUser)
def me(principal: Me) -> SessionUser:
    """The signed-in user, roles and permissions."""
    return _session_user(principal)


@auth_router.post("/change-password", status_code=204)
def change_password(body: ChangePasswordIn, principal: Me, site: SiteDep, session: SessionDep) -> Response:
    """Change your password; every session of yours ends, so sign in again."""
    service.change_password(
        site,
        session,
        principal=principal,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return Response(status_code=204)


# --- users --------------------------------------------------------------------------------------


@users_router.get("", response_model=Page[UserOut])
def list_users(
    principal: Annotated[Principal, Depends(require("kernel.users.view"))],
    session: SessionDep,
    page: PageDep,
    role: Annotated[str | None, Query(max_length=64)] = None,
    department: Annotated[str | None, Query(max_length=32)] = None,
    active: bool | None = None,
) -> Page[UserOut]:
    """Users, by username, filtered by role, department and active flag."""
    found, total = users.list_users(
        session, filters=users.UserFilter(role, department, active), limit=page.limit, offset=page.offset
    )
    return Page(
        items=[UserOut.model_validate(u) for u in found], total=total, limit=page.limit, offset=page.offset
    )


@users_router.post("", response_model=UserOut, status_code=201)
def create_user(
    body: UserCreate,
    principal: Annotated[Principal, Depends(require("kernel.users.create"))],
    site: SiteDep,
    session: SessionDep,
) -> UserOut:
    """Create an account with roles and a department."""
    user = users.create_user(
        session,
        auth_runtime(site),
        actor=principal,
        username=body.username,
        full_name=body.full_name,
        email=body.email,
        department=body.department,
        roles=body.roles,
        password=body.password,
    )
    return UserOut.model_validate(user)


@users_router.get("/{user_id}", response_model=UserOut)
def get_user(
    user_id: int, principal: Annotated[Principal, Depends(require("kernel.users.view"))], session: SessionDep
) -> UserOut:
    """One account."""
    return UserOut.model_validate(users.get_user(session, user_id=user_id))


@users_router.patch("/{user_id}", response_model=UserOut)
def update_user(
    user_id: int,
    body: UserUpdate,
    principal: Annotated[Principal, Depends(require("kernel.users.update"))],
    site: SiteDep,
    session: SessionDep,
) -> UserOut:
    """Change name, email, department or roles."""
    changes = body.model_dump(include=body.model_fields_set)
    if changes.get("full_name") is None:
        changes.pop("full_name", None)
    if changes.get("roles") is None:
        changes.pop("roles", None)
    user = users.update_user(session, auth_runtime(site), actor=principal, user_id=user_id, changes=changes)
    return UserOut.model_validate(user)


@users_router.post("/{user_id}/deactivate", response_model=UserOut)
def deactivate_user(
    user_id: int,
    principal: Annotated[Principal, Depends(require("kernel.users.deactivate"))],
    site: SiteDep,
    session: SessionDep,
) -> UserOut:
    """Deactivate an account; its sessions end at once."""
    return UserOut.model_validate(
        users.set_active(session, auth_runtime(site), actor=principal, user_id=user_id, active=False)
    )


@users_router.post("/{user_id}/reactivate", response_model=UserOut)
def reactivate_user(
    user_id: int,
    principal: Annotated[Principal, Depends(require("kernel.users.deactivate"))],
    site: SiteDep,
    session: SessionDep,
) -> UserOut:
    """Reactivate an account."""
    return UserOut.model_validate(
        users.set_active(session, auth_runtime(site), actor=principal, user_id=user_id, active=True)
    )


@users_router.post("/{user_id}/reset-password", status_code=204)
def reset_password(
    user_id: int,
    body: PasswordReset,
    principal: Annotated[Principal, Depends(require("kernel.users.reset_password"))],
    site: SiteDep,
    session: SessionDep,
) -> Response:
    """Set a new password for a user; their sessions end."""
    users.reset_password(session, auth_runtime(site), user_id=user_id, password=body.password)
    return Response(status_code=204)


# --- roles --------------------------------------------------------------------------------------


@roles_router.get("", response_model=RoleList)
def list_roles(
    principal: Annotated[Principal, Depends(require("kernel.roles.view"))], session: SessionDep
) -> RoleList:
    """Every role with its permissions, and every permission declared at this site."""
    return RoleList(
        items=[
            RoleOut(name=r.name, department=r.department, permissions=p)
            for r, p in roles_service.list_roles(session)
        ],
        permissions=[
            PermissionOut(name=p.name, plugin=p.plugin, description=p.description)
            for p in roles_service.list_permissions(session)
        ],
    )


@roles_router.put("/{role}/permissions", response_model=RoleOut)
def set_role_permissions(
    role: str,
    body: GrantsIn,
    principal: Annotated[Principal, Depends(require("kernel.roles.update"))],
    site: SiteDep,
    session: SessionDep,
) -> RoleOut:
    """Replace the permissions a role holds (kept across restarts and plugin upgrades)."""
    from kernel.rbac.models import Role

    granted = roles_service.set_role_grants(
        session,
        actor=principal,
        role=role,
        permissions=body.permissions,
        declared=set(declared_permissions(site)),
    )
    record = session.get(Role, role)
    return RoleOut(name=role, department=record.department if record else None, permissions=granted)
