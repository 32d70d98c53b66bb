"""Password hashing with Argon2id (argon2-cffi), at least OWASP's m=19 MiB, t=2, p=1.

Hashes made with weaker (or merely different) parameters are upgraded at the next successful login.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kernel.config import Settings
from kernel.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


def hasher_for(settings: Settings) -> PasswordHasher:
    """The Argon2id hasher with the site's parameters."""
    return PasswordHasher(
        time_cost=settings.password_time_cost,
        memory_cost=settings.password_memory_kib,
        parallelism=1,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hash_password(hasher: PasswordHasher, password: str) -> str:
    """Hash ``password`` (after checking it is acceptable)."""
    check_password_policy(password)
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; a malformed hash never matches."""
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hasher: PasswordHasher, stored_hash: str) -> bool:
    """True when ``stored_hash`` was made with other parameters than the site's current ones."""
    try:
        return hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def check_password_policy(password: str) -> None:
    """Refuse passwords too short to resist guessing, or absurdly long (hashing cost)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters",
            errors=[{"field": "password", "message": "too short", "type": "too_short"}],
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must have at most {MAX_PASSWORD_LENGTH} characters",
            errors=[{"field": "password", "message": "too long", "type": "too_long"}],
        )
