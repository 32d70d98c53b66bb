"""ppic: placeholder of the branch's first revision (replaced by the sales/MO half's ppic_0001 at merge)

Revision ID: ppic_0001
Revises:
Create Date: 2026-11-24 22:00:00.000000
"""

from collections.abc import Sequence

revision: str = "ppic_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("ppic",)
depends_on: str | Sequence[str] | None = ("kernel_0001", "warehouse_0001", "production_0001", "quality_0001")


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
