"""kernel: users, the 22 roles, permissions and grants

Revision ID: kernel_0002
Revises: kernel_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kernel.db

revision: str = "kernel_0002"
down_revision: str | Sequence[str] | None = "kernel_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy: a migration must not change when kernel.rbac.roles does later.
ROLES = [
    ("Developer", None), ("Superadmin", None), ("Manager", None), ("Finance Manager", None), ("Admin", None),
    ("PPIC Manager", None), ("PPIC Admin", None), ("SPV Cutting", "Cutting"), ("SPV Sewing", "Sewing"),
    ("SPV Finishing", "Finishing"), ("Warehouse Admin", None), ("QC Lab", None), ("Purchasing Head", None),
    ("Purchasing", None), ("Admin Cutting", "Cutting"), ("Admin Embroidery", "Embroidery"),
    ("Admin Sewing", "Sewing"), ("Admin Finishing", "Finishing"), ("Admin Packing", "Packing"),
    ("QC Inspector", None), ("Warehouse Operator", None), ("Security", None),
]


def upgrade() -> None:
    role = op.create_table(
        "kernel_role",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("department", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kernel_role")),
    )
    op.bulk_insert(role, [{"name": n, "department": d} for n, d in ROLES])
    op.create_table(
        "kernel_permission",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("plugin", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kernel_permission")),
    )
    op.create_index(op.f("ix_kernel_permission_plugin"), "kernel_permission", ["plugin"])
    op.create_table(
        "kernel_role_permission",
        sa.Column("role_name", sa.String(64), nullable=False),
        sa.Column("permission_name", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(["role_name"], ["kernel_role.name"], ondelete="CASCADE",
                                name=op.f("fk_kernel_role_permission_role_name_kernel_role")),
        sa.ForeignKeyConstraint(["permission_name"], ["kernel_permission.name"], ondelete="CASCADE",
                                name=op.f("fk_kernel_role_permission_permission_name_kernel_permission")),
        sa.PrimaryKeyConstraint("role_name", "permission_name", name=op.f("pk_kernel_role_permission")),
    )
    op.create_index(op.f("ix_kernel_role_permission_permission_name"), "kernel_role_permission",
                    ["permission_name"])
    op.create_table(
        "kernel_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("department", sa.String(32), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kernel_user")),
        sa.UniqueConstraint("username", name=op.f("uq_kernel_user_username")),
    )
    op.create_index(op.f("ix_kernel_user_department"), "kernel_user", ["department"])
    op.create_table(
        "kernel_user_role",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_name", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["kernel_user.id"], ondelete="CASCADE",
                                name=op.f("fk_kernel_user_role_user_id_kernel_user")),
        sa.ForeignKeyConstraint(["role_name"], ["kernel_role.name"],
                                name=op.f("fk_kernel_user_role_role_name_kernel_role")),
        sa.PrimaryKeyConstraint("user_id", "role_name", name=op.f("pk_kernel_user_role")),
    )
    op.create_index(op.f("ix_kernel_user_role_role_name"), "kernel_user_role", ["role_name"])


def downgrade() -> None:
    op.drop_table("kernel_user_role")
    op.drop_table("kernel_user")
    op.drop_table("kernel_role_permission")
    op.drop_table("kernel_permission")
    op.drop_table("kernel_role")
