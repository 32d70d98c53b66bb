"""kernel: start of the kernel branch

Revision ID: kernel_0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

revision: str = "kernel_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("kernel",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The root every plugin branch depends on; kernel tables arrive in later revisions.
    pass


def downgrade() -> None:
    pass
