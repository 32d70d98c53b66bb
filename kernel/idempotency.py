"""``Idempotency-Key`` for writes that clients retry (Android on factory Wi-Fi retries requests).

A route that accepts the header takes ``idem: IdempotencyDep`` and returns ``idem.remember(result,
status_code=...)``. The key is claimed by inserting a row in the request's own transaction, so:

- the first request runs normally and its response is stored with its change, atomically;
- a repeat after it committed returns the stored response (header ``Idempotency-Replayed: true``) and
  changes nothing;
- a repeat while the first is still running waits for it (the unique key blocks on PostgreSQL; SQLite
  serialises writers), then replays;
- if the first request failed, its claim rolled back with it, so a retry runs afresh;
- the same key with a different request (method, path or body) is refused with 422.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from sqlalchemy import Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from kernel.clock import utcnow
from kernel.db import Base, conflict_insert
from kernel.deps import SessionDep
from kernel.errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
T = TypeVar("T")


class IdempotencyRecord(Base):
    """A claimed key and, once the request finished, the response it produced."""

    __tablename__ = "kernel_idempotency_key"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class IdempotentReplay(Exception):
    """Raised to answer a repeated key with the stored response (handled in kernel.problems)."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"replay of a stored {status_code} response")
        self.status_code = status_code
        self.body = body


@dataclass(frozen=True)
class Claim:
    """A key this request inserted (scope is the user id)."""

    scope: str
    key: str


class Idempotency:
    """The request's idempotency claim (inactive when the client sent no key)."""

    def __init__(self, session: Session, claimed: Claim | None) -> None:
        self.session = session
        self.claimed = claimed
        self.remembered = claimed is None

    @property
    def active(self) -> bool:
        """True when the client sent a key for this request."""
        return self.claimed is not None

    def remember(self, result: T, *, status_code: int = 200) -> T:
        """Store ``result`` as the response for this key (in the request's transaction); returns it."""
        if self.claimed is not None:
            scope, key = self.claimed.scope, self.claimed.key
            self.session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
                .values(status_code=status_code, response_body=json.dumps(jsonable_encoder(result)))
            )
        self.remembered = True
        return result


async def request_fingerprint(request: Request) -> str:
    """SHA-256 of method, path, query and body: what makes two requests "the same"."""
    body = await request.body()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), request.url.query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim(session: Session, *, scope: str, key: str, method: str, path: str, fingerprint: str) -> Claim:
    """Claim ``key`` for this request, or raise IdempotentReplay / ValidationFailed / Conflict."""
    if not _KEY.match(key):
        raise ValidationFailed(
            f"{HEADER} must be 1-200 visible ASCII characters",
            errors=[{"field": HEADER, "in": "header", "message": "invalid key", "type": "value_error"}],
        )
    stmt = (
        conflict_insert(session, IdempotencyRecord)
        .values(scope=scope, key=key, method=method, path=path, request_hash=fingerprint, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(IdempotencyRecord.key)
    )
    if session.execute(stmt).scalar() is not None:
        return Claim(scope, key)  # ours: the common case costs this one statement until remember()
    record = session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    )
    if record is None:  # the holder rolled back between our insert attempt and this read: retry afresh
        raise Conflict(f"the request with {HEADER} {key!r} has not finished; retry shortly")
    if record.request_hash != fingerprint:
        raise ValidationFailed(
            f"{HEADER} {key!r} was already used for a different request",
            errors=[{"field": HEADER, "in": "header", "message": "key reused", "type": "value_error"}],
        )
    if record.status_code is None:
        raise Conflict(f"the request with {HEADER} {key!r} has not finished; retry shortly")
    raise IdempotentReplay(record.status_code, json.loads(record.response_body or "null"))


def get_idempotency(
    request: Request, session: SessionDep, fingerprint: Annotated[str, Depends(request_fingerprint)]
) -> Iterator[Idempotency]:
    """Dependency: claims the request's ``Idempotency-Key`` (if any) in the request's transaction."""
    key = request.headers.get(HEADER)
    if key is None:
        yield Idempotency(session, None)
        return
    # Keys are per user: one user's key never replays another user's response. The route's permission
    # guard must run first (declare it before this dependency) so the caller is known.
    principal = getattr(request.state, "erp_principal", None)
    if principal is None and "authorization" in request.headers:
        raise RuntimeError(f"route {request.url.path}: declare the permission guard before IdempotencyDep")
    scope = str(principal.user_id) if principal is not None else ""
    claimed = claim(
        session, scope=scope, key=key, method=request.method, path=request.url.path, fingerprint=fingerprint
    )
    idem = Idempotency(session, claimed)
    yield idem
    if not idem.remembered:
        # A route that accepts the key must store its response; failing loudly keeps retries correct.
        raise RuntimeError(f"route {request.url.path} took an Idempotency-Key but never called remember()")


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency, scope="function")]
