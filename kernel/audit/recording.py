"""Recording into the audit trail: entity changes inside the caller's transaction, security events and
request rows in their own.

``record_change`` only queues an entry on the session; a ``before_commit`` listener appends the queue to
its chain right before the transaction commits (so the chain lock is held for the commit only, and a
rolled-back change leaves no audit row, nor an audit row without its change).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from kernel.audit.chain import AuditEntry, append
from kernel.db import unit_of_work
from kernel.logs import request_id_var
from kernel.middleware import client_address

if TYPE_CHECKING:
    from kernel.rbac.principal import Principal
    from kernel.site import Site

PENDING_KEY = "erp_audit_pending"
CONTEXT_KEY = "erp_audit_context"
DEFAULT_CHAINS = 16
log = logging.getLogger("kernel.audit")


@dataclass(frozen=True)
class AuditContext:
    """Who and what request the entries of a session belong to."""

    request_id: str | None = None
    user_id: int | None = None
    username: str | None = None
    roles: tuple[str, ...] = ()
    client_address: str | None = None
    method: str | None = None
    path: str | None = None
    chains: int = DEFAULT_CHAINS

    def entry(self, action: str, **values: Any) -> AuditEntry:
        """An entry carrying this context."""
        return AuditEntry(
            action=action,
            request_id=self.request_id,
            user_id=self.user_id,
            username=self.username,
            roles=self.roles,
            client_address=self.client_address,
            method=self.method,
            path=self.path,
            **values,
        )


def context_of(connection: HTTPConnection, principal: Principal | None, chains: int) -> AuditContext:
    """The audit context of an HTTP request (and its caller, once known)."""
    return AuditContext(
        request_id=request_id_var.get(),
        user_id=principal.user_id if principal else None,
        username=principal.username if principal else None,
        roles=principal.roles if principal else (),
        client_address=client_address(connection.scope) or None,
        method=connection.scope.get("method"),
        path=connection.url.path,
        chains=chains,
    )


def bind_context(session: Session, context: AuditContext) -> None:
    """Attach the request's context to its session, for ``record_change`` calls of services."""
    session.info[CONTEXT_KEY] = context


def record_change(
    session: Session, *, entity_type: str, entity_id: Any, action: str, old: Any = None, new: Any = None
) -> None:
    """Add an entity change (with old and new values, JSON-serialisable) to the audit trail.

    Call it inside the transaction that makes the change: the entry is written when, and only if, that
    transaction commits, tagged with the request's user, roles, address, method, path and request id.
    """
    context = session.info.get(CONTEXT_KEY) or AuditContext(request_id=request_id_var.get())
    entry = context.entry(action, entity_type=entity_type, entity_id=str(entity_id), old=old, new=new)
    session.info.setdefault(PENDING_KEY, []).append(entry)


def record_in_transaction(session: Session, entry: AuditEntry) -> None:
    """Queue a fully built entry on ``session`` (written at its commit)."""
    session.info.setdefault(PENDING_KEY, []).append(entry)


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if pending:
        context = session.info.get(CONTEXT_KEY)
        append(session, pending, chains=context.chains if context else DEFAULT_CHAINS)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def record_event(site: Site, entry: AuditEntry) -> None:
    """Write one entry in a transaction of its own (for facts that outlive a failing request)."""
    with unit_of_work(site.sessions) as session:
        append(session, [entry], chains=site.settings.audit_chains)


def record_security_event(
    connection: HTTPConnection,
    *,
    action: str,
    principal: Principal | None = None,
    status: int | None = None,
    detail: Any = None,
    failing_session: Session | None = None,
) -> None:
    """Record a login failure, denial or token reuse of the current request, in its own transaction.

    ``failing_session`` (the request's session, about to roll back anyway) is rolled back first: on
    SQLite it holds the database's write lock, which the audit transaction needs.
    """
    if failing_session is not None:
        failing_session.rollback()
    site: Site = connection.app.state.site
    context = context_of(connection, principal, site.settings.audit_chains)
    record_event(site, context.entry(action, status=status, detail=detail))
    connection.state.erp_audit_done = True


def request_entry(context: AuditContext, status: int) -> AuditEntry:
    """The row recording one mutating request and its outcome."""
    return context.entry("http.request", status=status)


AUDITED = "erp_audit_request"
"""Set in the request state by the audit middleware for the requests it records."""
RECORDED_STATUS = "erp_audit_status"


def queue_request_row(connection: HTTPConnection, session: Session) -> int | None:
    """Queue the request's own audit row in its transaction, before the unit of work commits.

    The row says the route's declared success status; it commits with the change in one transaction
    (one chain append instead of a second transaction per request). Returns that status, or None when
    the audit middleware does not record the request or it was already recorded. Call
    ``request_row_committed`` once the commit succeeded; if the response ends up with another status,
    the middleware adds a row with the real one.
    """
    state = connection.scope.setdefault("state", {})
    if not state.get(AUDITED) or state.get("erp_audit_done"):
        return None
    route = connection.scope.get("route")
    status = int(getattr(route, "status_code", None) or 200)
    context = session.info.get(CONTEXT_KEY)
    if context is None:
        site: Site = connection.app.state.site
        context = context_of(connection, state.get("erp_principal"), site.settings.audit_chains)
    record_in_transaction(session, request_entry(context, status))
    return status


def request_row_committed(connection: HTTPConnection, status: int) -> None:
    """The queued request row committed: the middleware writes no second one (unless the status differs)."""
    state = connection.scope.setdefault("state", {})
    state["erp_audit_done"] = True
    state[RECORDED_STATUS] = status
