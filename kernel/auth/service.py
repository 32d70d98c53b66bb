"""Authentication: login, refresh rotation, logout, password change and the per-request check.

Plain functions over a SQLAlchemy session and the site; no FastAPI here. Failures that must be
recorded even though the request fails (bad password, spent refresh token) are written to the audit
trail in their own transaction.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from kernel.audit.recording import AuditContext, bind_context, context_of, record_event, record_in_transaction
from kernel.auth import tokens
from kernel.auth.models import User, UserRole
from kernel.auth.passwords import hash_password, needs_rehash, verify_password
from kernel.auth.runtime import auth_runtime
from kernel.auth.sessions import Rotation, SessionRecord
from kernel.errors import TooManyRequests, Unauthorized, ValidationFailed
from kernel.rbac.models import Grant
from kernel.rbac.principal import Principal
from kernel.rbac.roles import DEPARTMENT_ROLES
from kernel.site import Site

log = logging.getLogger("kernel.auth")
INVALID_CREDENTIALS = "invalid username or password"


@dataclass(frozen=True)
class IssuedTokens:
    """A fresh access/refresh pair for a session, and the principal it was issued to."""

    access_token: str
    refresh_token: str
    expires_in: int
    principal: Principal


def load_principal(session: Session, user_id: int, session_id: str) -> Principal | None:
    """The active user's principal (roles, department, permissions), or None if inactive or gone."""
    user = session.execute(
        select(User.id, User.username, User.full_name, User.department).where(
            User.id == user_id, User.is_active.is_(True)
        )
    ).first()
    if user is None:
        return None
    rows = session.execute(
        select(UserRole.role_name, Grant.permission_name)
        .outerjoin(Grant, Grant.role_name == UserRole.role_name)
        .where(UserRole.user_id == user_id)
    ).all()
    roles = sorted({role for role, _ in rows})
    unscoped = {perm for role, perm in rows if perm and role not in DEPARTMENT_ROLES}
    scoped = {perm for role, perm in rows if perm and role in DEPARTMENT_ROLES} - unscoped
    return Principal(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        roles=tuple(roles),
        department=user.department,
        permissions=frozenset(unscoped | scoped),
        session_id=session_id,
        scoped_permissions=frozenset(scoped),
    )


WS_SUBPROTOCOL = "bearer"


def bearer_token(connection: HTTPConnection) -> str | None:
    """The access token of a request: ``Authorization: Bearer <token>``.

    Browsers cannot set headers on a WebSocket, so a WebSocket may instead offer the subprotocols
    ``bearer, <token>`` (never a query parameter: URLs end up in access logs).
    """
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if connection.scope.get("type") == "websocket":
        offered = [p.strip() for p in connection.headers.get("sec-websocket-protocol", "").split(",")]
        if len(offered) >= 2 and offered[0] == WS_SUBPROTOCOL and offered[1]:
            return offered[1]
    return None


def authenticate_connection(connection: HTTPConnection, session: Session) -> Principal:
    """The caller of a request: a valid access token of a live session of an active user. Else 401."""
    site: Site = connection.app.state.site
    token = bearer_token(connection)
    if not token:
        raise Unauthorized("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    principal = authenticate_token(site, session, token)
    connection.state.erp_principal = principal
    bind_context(session, context_of(connection, principal, site.settings.audit_chains))
    return principal


def authenticate_token(site: Site, session: Session, token: str) -> Principal:
    """Check an access token against the session store and the user table; raises Unauthorized."""
    claims = tokens.decode(site.settings, token, "access")
    runtime = auth_runtime(site)
    record, epoch = runtime.sessions.get_with_epoch(claims.session_id)
    if record is None or record.user_id != claims.user_id:
        raise Unauthorized("session ended; sign in again", headers={"WWW-Authenticate": "Bearer"})
    principal = runtime.principals.get(claims.session_id, epoch)
    if principal is not None:
        return principal
    principal = load_principal(session, claims.user_id, claims.session_id)
    if principal is None:
        raise Unauthorized("account inactive", headers={"WWW-Authenticate": "Bearer"})
    runtime.principals.put(claims.session_id, epoch, principal)
    return principal


def _issue(site: Site, principal_user: int, session_id: str, refresh_jti: str) -> tuple[str, str, int]:
    settings = site.settings
    access_life = timedelta(minutes=settings.access_token_minutes)
    access, _ = tokens.issue(
        settings, user_id=principal_user, session_id=session_id, token_type="access", lifetime=access_life
    )
    record = auth_runtime(site).sessions.get(session_id)
    remaining = max(1, (record.expires_at if record else 0) - int(time.time()))
    refresh, _ = tokens.issue(
        settings,
        user_id=principal_user,
        session_id=session_id,
        token_type="refresh",
        lifetime=timedelta(seconds=remaining),
        token_id=refresh_jti,
    )
    return access, refresh, int(access_life.total_seconds())


def _throttle_keys(username: str, address: str | None) -> list[tuple[str, str]]:
    return [("account", f"account:{username}"), ("address", f"address:{address or '-'}")]


def login(
    site: Site, session: Session, *, username: str, password: str, context: AuditContext
) -> IssuedTokens:
    """Check credentials (throttled) and open a session. Unknown user and wrong password look alike."""
    settings, runtime = site.settings, auth_runtime(site)
    name = username.strip().lower()
    keys = _throttle_keys(name, context.client_address)
    limits = {
        "account": settings.login_max_failures_per_account,
        "address": settings.login_max_failures_per_address,
    }
    for kind, key in keys:
        count, retry_after = runtime.failures.count(key)
        if count >= limits[kind]:
            session.rollback()
            record_event(
                site,
                context.entry("auth.login_throttled", status=429, detail={"username": name[:64], "by": kind}),
            )
            raise TooManyRequests(
                "too many failed sign-in attempts; try again later", headers={"Retry-After": str(retry_after)}
            )
    user = session.scalar(select(User).where(User.username == name))
    # Always run one Argon2 verification, so an unknown name costs the same time as a wrong password.
    ok = verify_password(runtime.hasher, user.password_hash if user else runtime.dummy_hash, password)
    if user is None or not ok or not user.is_active:
        for _, key in keys:
            runtime.failures.fail(key, settings.login_lockout_seconds)
        session.rollback()
        record_event(site, context.entry("auth.login_failed", status=401, detail={"username": name[:64]}))
        raise Unauthorized(INVALID_CREDENTIALS)
    runtime.failures.clear(keys[0][1])
    if needs_rehash(runtime.hasher, user.password_hash):
        user.password_hash = runtime.hasher.hash(password)
    session_id, refresh_jti = uuid.uuid4().hex, uuid.uuid4().hex
    expires_at = int(time.time()) + settings.refresh_token_hours * 3600
    runtime.sessions.create(SessionRecord(session_id, user.id, refresh_jti, expires_at))
    principal = load_principal(session, user.id, session_id)
    assert principal is not None  # active and just verified
    access, refresh, expires_in = _issue(site, user.id, session_id, refresh_jti)
    bind_context(session, context)
    record_in_transaction(
        session,
        AuditContext(
            request_id=context.request_id,
            user_id=user.id,
            username=user.username,
            roles=principal.roles,
            client_address=context.client_address,
            method=context.method,
            path=context.path,
            chains=context.chains,
        ).entry("auth.login", status=200, detail={"session": session_id}),
    )
    return IssuedTokens(access, refresh, expires_in, principal)


def refresh(site: Site, session: Session, *, refresh_token: str, context: AuditContext) -> IssuedTokens:
    """Rotate a refresh token. A spent one revokes its whole session (a stolen token was replayed)."""
    runtime = auth_runtime(site)
    claims = tokens.decode(site.settings, refresh_token, "refresh")
    record = runtime.sessions.get(claims.session_id)
    if record is None or record.user_id != claims.user_id:
        raise Unauthorized("session ended; sign in again")
    next_jti = uuid.uuid4().hex
    outcome = runtime.sessions.rotate(claims.session_id, claims.token_id, next_jti)
    if outcome is Rotation.REUSED:
        session.rollback()
        log.warning(
            "refresh token reused; session revoked",
            extra={"user_id": claims.user_id, "session": claims.session_id},
        )
        record_event(
            site,
            AuditContext(
                request_id=context.request_id,
                user_id=claims.user_id,
                client_address=context.client_address,
                method=context.method,
                path=context.path,
                chains=context.chains,
            ).entry("auth.refresh_reused", status=401, detail={"session": claims.session_id}),
        )
        raise Unauthorized("refresh token already used; the session has been revoked, sign in again")
    if outcome is Rotation.UNKNOWN:
        raise Unauthorized("session ended; sign in again")
    principal = load_principal(session, claims.user_id, claims.session_id)
    if principal is None:
        runtime.sessions.revoke(claims.session_id)
        raise Unauthorized("account inactive")
    access, new_refresh, expires_in = _issue(site, claims.user_id, claims.session_id, next_jti)
    return IssuedTokens(access, new_refresh, expires_in, principal)


def logout(site: Site, session: Session, *, principal: Principal) -> None:
    """End the caller's session now: its access and refresh tokens stop working at once."""
    auth_runtime(site).sessions.revoke(principal.session_id)
    record_in_transaction(
        session,
        session.info["erp_audit_context"].entry(
            "auth.logout", status=204, detail={"session": principal.session_id}
        ),
    )


def change_password(
    site: Site, session: Session, *, principal: Principal, current_password: str, new_password: str
) -> None:
    """Change the caller's password (knowing the current one); every session of the user ends."""
    runtime = auth_runtime(site)
    key = f"account:{principal.username}"
    count, retry_after = runtime.failures.count(key)
    if count >= site.settings.login_max_failures_per_account:
        raise TooManyRequests(
            "too many failed attempts; try again later", headers={"Retry-After": str(retry_after)}
        )
    user = session.get(User, principal.user_id)
    if user is None or not verify_password(runtime.hasher, user.password_hash, current_password):
        runtime.failures.fail(key, site.settings.login_lockout_seconds)
        raise ValidationFailed(
            "current password is wrong",
            errors=[{"field": "current_password", "message": "does not match", "type": "mismatch"}],
        )
    if current_password == new_password:
        raise ValidationFailed(
            "the new password must differ from the current one",
            errors=[{"field": "new_password", "message": "same as current", "type": "unchanged"}],
        )
    user.password_hash = hash_password(runtime.hasher, new_password)
    runtime.sessions.revoke_user(user.id)
    from kernel.audit.recording import record_change

    record_change(session, entity_type="user", entity_id=user.id, action="password_changed")
