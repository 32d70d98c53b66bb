"""Bumping the principal epoch when who-may-do-what changes, so cached principals are reloaded.

Changes through the ORM (a user's activity, department or username, role links, grants) are noticed
by a ``before_flush`` listener; bulk statements (role grant edits, start-up permission sync) call
``principals_changed`` themselves. The epoch is bumped after the transaction commits: bumping before
could let a concurrent request reload the old rows and cache them under the new epoch. A rolled-back
transaction keeps its mark (a savepoint's rollback is not the whole transaction's): at worst an extra
reload, never a missed one.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from kernel.auth.models import User, UserRole
from kernel.rbac.models import Grant

STALE_KEY = "erp_principals_stale"
# User columns a principal is built from (a login's last_login update must not empty every cache).
_PRINCIPAL_COLUMNS = ("is_active", "department", "username", "full_name")
log = logging.getLogger("kernel.auth")


def principals_changed(session: Session) -> None:
    """Mark that this transaction changes principals; the epoch is bumped when it commits."""
    session.info[STALE_KEY] = True


def _touches_principals(obj: Any, *, dirty: bool) -> bool:
    if isinstance(obj, UserRole | Grant):
        return True
    if isinstance(obj, User):
        if not dirty:
            return True
        state = inspect(obj)
        return any(state.attrs[name].history.has_changes() for name in _PRINCIPAL_COLUMNS)
    return False


@event.listens_for(Session, "before_flush")
def _notice_changes(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(STALE_KEY):
        return
    if any(_touches_principals(o, dirty=False) for o in (*session.new, *session.deleted)) or any(
        _touches_principals(o, dirty=True) for o in session.dirty
    ):
        principals_changed(session)


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    if not session.info.pop(STALE_KEY, False):
        return
    from kernel.auth.runtime import auth_runtime
    from kernel.site import SESSION_INFO_KEY, Site

    site = session.info.get(SESSION_INFO_KEY)
    if not isinstance(site, Site):
        return  # a session outside any site (migrations, scripts): no cache to invalidate
    try:
        auth_runtime(site).sessions.bump_epoch()
    except Exception:
        # The change is committed; without the bump, caches still expire within their ttl. Say so loudly.
        log.exception("could not bump the principal epoch; cached permissions may lag up to the cache ttl")
