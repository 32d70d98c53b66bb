"""kernel: event outbox, deliveries and inbox

Revision ID: kernel_0101
Revises: kernel_0202
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import kernel.db

revision: str = "kernel_0101"
down_revision: str | Sequence[str] | None = "kernel_0202"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('pending', 'failed')")
UNPUBLISHED = sa.text("published_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "kernel_event_outbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("aggregate", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("emitted_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("published_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_kernel_event_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_kernel_event_outbox_id")),
    )
    op.create_index("ix_kernel_event_outbox_unpublished", "kernel_event_outbox", ["seq"],
                    postgresql_where=UNPUBLISHED, sqlite_where=UNPUBLISHED)
    op.create_index("ix_kernel_event_outbox_aggregate_seq", "kernel_event_outbox", ["aggregate", "seq"])
    op.create_index("ix_kernel_event_outbox_name", "kernel_event_outbox", ["name"])

    op.create_table(
        "kernel_event_delivery",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("published_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("due_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("not_before", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("handled_at", kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_traceback", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["kernel_event_outbox.id"], ondelete="CASCADE",
                                name=op.f("fk_kernel_event_delivery_event_id_kernel_event_outbox")),
        sa.PrimaryKeyConstraint("event_id", "plugin", name=op.f("pk_kernel_event_delivery")),
    )
    op.create_index("ix_kernel_event_delivery_due", "kernel_event_delivery", ["due_at"],
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index("ix_kernel_event_delivery_status_plugin", "kernel_event_delivery", ["status", "plugin"])

    op.create_table(
        "kernel_event_inbox",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column("handled_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["kernel_event_outbox.id"], ondelete="CASCADE",
                                name=op.f("fk_kernel_event_inbox_event_id_kernel_event_outbox")),
        sa.PrimaryKeyConstraint("event_id", "plugin", name=op.f("pk_kernel_event_inbox")),
    )


def downgrade() -> None:
    op.drop_table("kernel_event_inbox")
    op.drop_index("ix_kernel_event_delivery_status_plugin", table_name="kernel_event_delivery")
    op.drop_index("ix_kernel_event_delivery_due", table_name="kernel_event_delivery")
    op.drop_table("kernel_event_delivery")
    op.drop_index("ix_kernel_event_outbox_name", table_name="kernel_event_outbox")
    op.drop_index("ix_kernel_event_outbox_aggregate_seq", table_name="kernel_event_outbox")
    op.drop_index("ix_kernel_event_outbox_unpublished", table_name="kernel_event_outbox")
    op.drop_table("kernel_event_outbox")
