"""RBAC tables: the roles (seeded by migration), the declared permissions and the grants per role."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base


class Role(Base):
    """One of the 22 roles; ``department`` is set for department-scoped roles."""

    __tablename__ = "kernel_role"
    # Created by migration, not by tests or start-up: keep it when tests empty the database.
    __table_args__ = {"info": {"erp_seed": True}}

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str | None] = mapped_column(String(32))


class PermissionRecord(Base):
    """A permission some plugin declared (kept when the plugin is disabled, so its grants survive)."""

    __tablename__ = "kernel_permission"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    plugin: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text)


class Grant(Base):
    """Role ``role_name`` holds permission ``permission_name``."""

    __tablename__ = "kernel_role_permission"

    role_name: Mapped[str] = mapped_column(
        ForeignKey("kernel_role.name", ondelete="CASCADE"), primary_key=True
    )
    permission_name: Mapped[str] = mapped_column(
        ForeignKey("kernel_permission.name", ondelete="CASCADE"), primary_key=True, index=True
    )
