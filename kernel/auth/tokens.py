"""JSON Web Tokens (PyJWT): short-lived access tokens and rotating refresh tokens.

HS256 only, pinned in the decoder; every claim (sub, sid, jti, typ, iat, exp, iss, aud) is required,
and ``typ`` must match what the endpoint expects, so a refresh token never works as an access token
and the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import jwt

from kernel.clock import utcnow
from kernel.config import Settings
from kernel.errors import Unauthorized

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "sid", "jti", "typ", "iat", "exp", "iss", "aud"]
TokenType = Literal["access", "refresh"]


@dataclass(frozen=True)
class TokenClaims:
    """The verified claims of a token."""

    user_id: int
    session_id: str
    token_id: str
    token_type: TokenType
    expires_at: int


def signing_key(settings: Settings) -> bytes:
    """A key for tokens only, derived from the site secret (the secret itself signs nothing)."""
    return hmac.new(settings.secret_key.encode(), b"erp-jwt-v1", hashlib.sha256).digest()


def issue(
    settings: Settings,
    *,
    user_id: int,
    session_id: str,
    token_type: TokenType,
    lifetime: timedelta,
    token_id: str | None = None,
) -> tuple[str, TokenClaims]:
    """Sign a token of ``token_type`` for a user's session; returns the token and its claims."""
    now = utcnow()
    jti = token_id or uuid.uuid4().hex
    exp = int((now + lifetime).timestamp())
    payload: dict[str, Any] = {
        "sub": str(user_id),
        "sid": session_id,
        "jti": jti,
        "typ": token_type,
        "iat": int(now.timestamp()),
        "exp": exp,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    token = jwt.encode(payload, signing_key(settings), algorithm=ALGORITHM)
    return token, TokenClaims(user_id, session_id, jti, token_type, exp)


def decode(settings: Settings, token: str, expected: TokenType) -> TokenClaims:
    """Verify ``token`` and return its claims; raises Unauthorized for anything amiss."""
    try:
        payload = jwt.decode(
            token,
            signing_key(settings),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={
                "require": REQUIRED_CLAIMS,
                "verify_signature": True,
                "verify_exp": True,
                "verify_nbf": True,
                "verify_iat": True,
                "verify_aud": True,
                "verify_iss": True,
            },
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("invalid token") from None
    if payload.get("typ") != expected:
        raise Unauthorized(f"not an {expected} token" if expected == "access" else f"not a {expected} token")
    try:
        user_id = int(payload["sub"])
    except (TypeError, ValueError):
        raise Unauthorized("invalid token") from None
    sid, jti = payload["sid"], payload["jti"]
    if not isinstance(sid, str) or not isinstance(jti, str):
        raise Unauthorized("invalid token")
    return TokenClaims(user_id, sid, jti, expected, int(payload["exp"]))
