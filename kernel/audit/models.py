"""The audit trail: append-only rows in N independent hash chains, and the tip of each chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditLog(Base):
    """One audited fact: a request, an entity change, or a security event (login, denial...).

    ``hash`` covers every other column but ``id`` plus ``prev_hash``, the hash of the previous row of the
    same chain; on PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    __tablename__ = "kernel_audit_log"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_kernel_audit_log_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chain: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    roles: Mapped[str] = mapped_column(Text, default="[]")
    client_address: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(10))
    path: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainTip(Base):
    """The last sequence number and hash of one chain: the row writers of that chain lock briefly.

    Also lets ``erp audit verify`` notice rows deleted from the end of a chain.
    """

    __tablename__ = "kernel_audit_chain"

    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
