"""The hash chains of the audit trail: appending entries and verifying every chain.

Why N chains: one chain would need one lock held by every writer in the factory. Each request's
entries go to chain ``hash(request id) % N``; writers on different chains never wait for each other,
and the lock on a chain's tip is taken just before commit, so it is held only for the commit itself.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from kernel.audit.models import AuditChainTip, AuditLog
from kernel.clock import utcnow

GENESIS = "0" * 64
HASHED_FIELDS = (
    "chain",
    "seq",
    "at",
    "request_id",
    "user_id",
    "username",
    "roles",
    "client_address",
    "method",
    "path",
    "status",
    "action",
    "entity_type",
    "entity_id",
    "old",
    "new",
    "detail",
)


def to_json(value: Any) -> str | None:
    """Canonical JSON text of an audited value (sorted keys; Decimal and dates as strings)."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


@dataclass
class AuditEntry:
    """An entry waiting to be appended to a chain."""

    action: str
    request_id: str | None = None
    user_id: int | None = None
    username: str | None = None
    roles: Sequence[str] = ()
    client_address: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    old: Any = None
    new: Any = None
    detail: Any = None
    at: datetime = field(default_factory=utcnow)

    def row(self) -> dict[str, Any]:
        """Column values (without chain, seq and hashes)."""
        return {
            "at": self.at,
            "request_id": self.request_id,
            "user_id": self.user_id,
            "username": self.username,
            "roles": to_json(list(self.roles)) or "[]",
            "client_address": self.client_address,
            "method": self.method,
            "path": (self.path or "")[:500] or None,
            "status": self.status,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": None if self.entity_id is None else str(self.entity_id)[:64],
            "old": to_json(self.old),
            "new": to_json(self.new),
            "detail": to_json(self.detail),
        }


def row_hash(prev_hash: str, values: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the row's content, in a fixed field order."""
    content = []
    for name in HASHED_FIELDS:
        value = values[name]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat(timespec="microseconds")
        content.append(value)
    payload = prev_hash + json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def chain_for(key: str | None, chains: int) -> int:
    """The chain of a request: stable for one request id, spread evenly across ``chains``."""
    key = key or uuid.uuid4().hex
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") % chains


def _lock_tip(session: Session, chain: int) -> tuple[int, str]:
    stmt = select(AuditChainTip.seq, AuditChainTip.hash).where(AuditChainTip.chain == chain).with_for_update()
    tip = session.execute(stmt).first()
    if tip is None:
        from kernel.rbac.sync import insert_ignoring_duplicates

        insert_ignoring_duplicates(
            session,
            AuditChainTip.__table__,  # type: ignore[arg-type]
            [{"chain": chain, "seq": 0, "hash": GENESIS}],
        )
        tip = session.execute(stmt).one()
    return int(tip.seq), str(tip.hash)


def append(session: Session, entries: Sequence[AuditEntry], *, chains: int) -> None:
    """Append ``entries`` (in order) to the chain of their request, inside the session's transaction."""
    if not entries:
        return
    chain = chain_for(entries[0].request_id, chains)
    seq, prev = _lock_tip(session, chain)
    rows = []
    for entry in entries:
        seq += 1
        values = {"chain": chain, "seq": seq, **entry.row()}
        values["prev_hash"] = prev
        values["hash"] = prev = row_hash(prev, values)
        rows.append(values)
    session.execute(insert(AuditLog), rows)
    session.execute(update(AuditChainTip).where(AuditChainTip.chain == chain).values(seq=seq, hash=prev))


@dataclass(frozen=True)
class BrokenLink:
    """The first problem found in one chain."""

    chain: int
    row_id: int | None
    message: str


def verify(session: Session, batch: int = 5000) -> Iterator[BrokenLink]:
    """Check every chain; yields the first broken link of each chain that has one."""
    tips = dict(session.execute(select(AuditChainTip.chain, AuditChainTip)).tuples().all())
    chains = set(session.scalars(select(AuditLog.chain).distinct())) | set(tips)
    for chain in sorted(chains):
        broken = _verify_chain(session, chain, tips.get(chain), batch)
        if broken is not None:
            yield broken


def _verify_chain(session: Session, chain: int, tip: AuditChainTip | None, batch: int) -> BrokenLink | None:
    columns = [getattr(AuditLog, name) for name in HASHED_FIELDS]
    stmt = (
        select(AuditLog.id, AuditLog.prev_hash, AuditLog.hash, *columns)
        .where(AuditLog.chain == chain)
        .order_by(AuditLog.seq)
        .execution_options(yield_per=batch)
    )
    expected_seq, prev, last_id = 1, GENESIS, None
    for row in session.execute(stmt):
        values = {name: getattr(row, name) for name in HASHED_FIELDS}
        where = f"row id {row.id} (chain {chain}, seq {row.seq})"
        if row.seq != expected_seq:
            after = f"after row id {last_id}" if last_id is not None else "at the start of the chain"
            gap = f"chain {chain}: row(s) seq {expected_seq}..{row.seq - 1} deleted {after}, before {where}"
            return BrokenLink(chain, row.id, gap)
        if row.prev_hash != prev:
            return BrokenLink(
                chain,
                row.id,
                f"{where}: link to the previous row broken "
                "(previous row edited, deleted or this row's prev_hash changed)",
            )
        if row_hash(prev, values) != row.hash:
            return BrokenLink(chain, row.id, f"{where}: content does not match its hash (row edited)")
        prev, last_id, expected_seq = row.hash, row.id, expected_seq + 1
    if tip is not None and (tip.seq != expected_seq - 1 or tip.hash != prev):
        tail = (
            f"chain {chain}: ends at seq {expected_seq - 1} but its tip says seq {tip.seq}: "
            f"rows after row id {last_id} deleted, or tip altered"
        )
        return BrokenLink(chain, last_id, tail)
    return None
