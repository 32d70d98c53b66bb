"""kernel: hash-chained audit trail (append-only on PostgreSQL)

Revision ID: kernel_0003
Revises: kernel_0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kernel.db

revision: str = "kernel_0003"
down_revision: str | Sequence[str] | None = "kernel_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kernel_audit_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("chain", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=True),
        sa.Column("method", sa.String(10), nullable=True),
        sa.Column("path", sa.String(500), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=True),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kernel_audit_log")),
        sa.UniqueConstraint("chain", "seq", name=op.f("uq_kernel_audit_log_chain_seq")),
    )
    op.create_index(op.f("ix_kernel_audit_log_at"), "kernel_audit_log", ["at"])
    op.create_index(op.f("ix_kernel_audit_log_request_id"), "kernel_audit_log", ["request_id"])
    op.create_index(op.f("ix_kernel_audit_log_user_id"), "kernel_audit_log", ["user_id"])
    op.create_index(op.f("ix_kernel_audit_log_action"), "kernel_audit_log", ["action"])
    op.create_index("ix_kernel_audit_log_entity", "kernel_audit_log", ["entity_type", "entity_id"])
    op.create_table(
        "kernel_audit_chain",
        sa.Column("chain", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_kernel_audit_chain")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Append-only: no UPDATE or DELETE of audit rows, and chain tips only move forward.
        op.execute("""
            CREATE FUNCTION kernel_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'kernel_audit_log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
            END $$;
        """)
        op.execute("""
            CREATE TRIGGER kernel_audit_log_append_only BEFORE UPDATE OR DELETE ON kernel_audit_log
            FOR EACH ROW EXECUTE FUNCTION kernel_audit_refuse_change();
        """)
        op.execute("""
            CREATE FUNCTION kernel_audit_chain_forward() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'DELETE' OR NEW.seq <= OLD.seq OR NEW.chain <> OLD.chain THEN
                RAISE EXCEPTION 'kernel_audit_chain tips only move forward: % refused', TG_OP
                  USING ERRCODE = 'insufficient_privilege';
              END IF;
              RETURN NEW;
            END $$;
        """)
        op.execute("""
            CREATE TRIGGER kernel_audit_chain_forward_only BEFORE UPDATE OR DELETE ON kernel_audit_chain
            FOR EACH ROW EXECUTE FUNCTION kernel_audit_chain_forward();
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS kernel_audit_chain_forward_only ON kernel_audit_chain")
        op.execute("DROP FUNCTION IF EXISTS kernel_audit_chain_forward()")
        op.execute("DROP TRIGGER IF EXISTS kernel_audit_log_append_only ON kernel_audit_log")
        op.execute("DROP FUNCTION IF EXISTS kernel_audit_refuse_change()")
    op.drop_table("kernel_audit_chain")
    op.drop_table("kernel_audit_log")
