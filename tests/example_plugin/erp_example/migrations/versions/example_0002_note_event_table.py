"""example: note event table (the example's reaction to note_created)

Revision ID: example_0002
Revises: example_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kernel.db

revision: str = "example_0002"
down_revision: str | Sequence[str] | None = "example_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "kernel_0101"


def upgrade() -> None:
    op.create_table(
        "example_note_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("handled_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_example_note_event")),
    )


def downgrade() -> None:
    op.drop_table("example_note_event")
