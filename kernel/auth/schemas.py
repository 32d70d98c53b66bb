"""Request and response bodies of the auth, user and role endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

USERNAME = r"^[A-Za-z0-9._-]{3,64}$"
EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,185}\.[^@\s]{1,63}$"


class LoginIn(BaseModel):
    """Credentials."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshIn(BaseModel):
    """A refresh token to exchange for a new pair."""

    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=4096)


class ChangePasswordIn(BaseModel):
    """The current password and the new one."""

    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class SessionUser(BaseModel):
    """The signed-in user as clients need it to build their menus."""

    id: int
    username: str
    full_name: str
    department: str | None
    roles: list[str]
    permissions: list[str]


class TokenPair(BaseModel):
    """Tokens of a session: a short-lived access token and a single-use refresh token."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    user: SessionUser


class UserCreate(BaseModel):
    """A new account (created by an administrator; there is no self-registration)."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(pattern=USERNAME)
    full_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, pattern=EMAIL, max_length=254)
    department: str | None = None
    roles: list[str] = Field(min_length=1, max_length=22)
    password: str = Field(min_length=1, max_length=256)


class UserUpdate(BaseModel):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, pattern=EMAIL, max_length=254)
    department: str | None = None
    roles: list[str] | None = Field(default=None, min_length=1, max_length=22)


class PasswordReset(BaseModel):
    """A new password set by an administrator."""

    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=256)


class UserOut(BaseModel):
    """An account as administrators see it."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    full_name: str
    email: str | None
    department: str | None
    roles: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class RoleOut(BaseModel):
    """A role and the permissions it holds."""

    name: str
    department: str | None = Field(description="Set for department-scoped roles.")
    permissions: list[str]


class PermissionOut(BaseModel):
    """A declared permission."""

    name: str
    plugin: str
    description: str


class RoleList(BaseModel):
    """All roles with their grants, and the catalogue of permissions."""

    items: list[RoleOut]
    permissions: list[PermissionOut]


class GrantsIn(BaseModel):
    """The complete set of permissions a role should hold."""

    model_config = ConfigDict(extra="forbid")
    permissions: list[str] = Field(max_length=5000)
