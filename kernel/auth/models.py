"""User accounts and their roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import Base


class User(Base):
    """A person who signs in. Usernames are stored lower case; there is no self-registration."""

    __tablename__ = "kernel_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    department: Mapped[str | None] = mapped_column(String(32), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    role_links: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role_name"
    )

    @property
    def roles(self) -> list[str]:
        """The user's role names, sorted."""
        return [link.role_name for link in self.role_links]


class UserRole(Base):
    """User ``user_id`` holds role ``role_name``."""

    __tablename__ = "kernel_user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("kernel_user.id", ondelete="CASCADE"), primary_key=True)
    role_name: Mapped[str] = mapped_column(ForeignKey("kernel_role.name"), primary_key=True, index=True)
