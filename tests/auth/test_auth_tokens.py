"""Login, tokens, refresh rotation, logout: every forged or stale token is a 401."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest

from kernel.auth import tokens
from kernel.testing import create_test_user

ME = "/api/v1/auth/me"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()), _b64(signature)])


@pytest.fixture
def signed_in(make_client):
    """A client, a Warehouse Admin's login response and the settings of its site."""
    client = make_client(["example"])
    site = client.app.state.site
    user, password = create_test_user(site, "Warehouse Admin")
    resp = client.post("/api/v1/auth/login", json={"username": user.username, "password": password})
    assert resp.status_code == 200, resp.text
    return client, resp.json(), site.settings, user


def _claims(settings, user_id: int, sid: str, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "sid": sid,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "iat": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _sid(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["sid"]


def test_login_returns_the_token_pair_and_the_user(signed_in) -> None:
    client, body, _, user = signed_in
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    assert body["user"]["username"] == user.username and body["user"]["roles"] == ["Warehouse Admin"]
    assert "example.notes.create" in body["user"]["permissions"]
    me = client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == user.id


def test_access_token_carries_every_required_claim(signed_in) -> None:
    _, body, settings, _ = signed_in
    claims = jwt.decode(
        body["access_token"],
        tokens.signing_key(settings),
        algorithms=["HS256"],
        audience=settings.jwt_audience,
    )
    assert set(claims) == {"sub", "sid", "jti", "typ", "iat", "exp", "iss", "aud"}
    assert claims["typ"] == "access" and claims["exp"] - claims["iat"] == 15 * 60


FORGERIES = [
    "alg_none",
    "rs256_header",
    "hs512",
    "wrong_key",
    "tampered_payload",
    "expired",
    "nbf_future",
    "missing_exp",
    "missing_jti",
    "wrong_audience",
    "wrong_issuer",
    "refresh_as_access",
    "garbage",
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_or_wrong_tokens_are_rejected_with_401(signed_in, forgery: str) -> None:
    client, body, settings, user = signed_in
    sid = _sid(body["access_token"])
    key = tokens.signing_key(settings)
    good = _claims(settings, user.id, sid)
    if forgery == "alg_none":
        token = _raw_token({"alg": "none", "typ": "JWT"}, good)
    elif forgery == "rs256_header":
        # HS/RS confusion: an RS256 header (signed with the HMAC key as if it were a public key) is refused
        # because the decoder accepts HS256 only.
        token = _raw_token({"alg": "RS256", "typ": "JWT"}, good, b"x" * 256)
    elif forgery == "hs512":
        token = jwt.encode(good, key, algorithm="HS512")
    elif forgery == "wrong_key":
        token = jwt.encode(good, b"another-key-" + b"k" * 32, algorithm="HS256")
    elif forgery == "tampered_payload":
        header, _, signature = body["access_token"].split(".")
        token = ".".join([header, _b64(json.dumps({**good, "sub": "1"}).encode()), signature])
    elif forgery == "expired":
        token = jwt.encode(
            _claims(settings, user.id, sid, iat=int(time.time()) - 3600, exp=int(time.time()) - 60),
            key,
            algorithm="HS256",
        )
    elif forgery == "nbf_future":
        token = jwt.encode({**good, "nbf": int(time.time()) + 3600}, key, algorithm="HS256")
    elif forgery == "missing_exp":
        token = jwt.encode(_claims(settings, user.id, sid, exp=None), key, algorithm="HS256")
    elif forgery == "missing_jti":
        token = jwt.encode(_claims(settings, user.id, sid, jti=None), key, algorithm="HS256")
    elif forgery == "wrong_audience":
        token = jwt.encode(_claims(settings, user.id, sid, aud="someone-else"), key, algorithm="HS256")
    elif forgery == "wrong_issuer":
        token = jwt.encode(_claims(settings, user.id, sid, iss="evil"), key, algorithm="HS256")
    elif forgery == "refresh_as_access":
        token = body["refresh_token"]
    else:
        token = "not.a.token"
    resp = client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401, (forgery, resp.text)
    assert resp.headers["content-type"] == "application/problem+json"


def test_a_correctly_signed_token_for_an_unknown_session_is_rejected(signed_in) -> None:
    client, _, settings, user = signed_in
    token, _ = tokens.issue(
        settings,
        user_id=user.id,
        session_id="no-such-session",
        token_type="access",
        lifetime=timedelta(minutes=5),
    )
    assert client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_missing_or_malformed_authorization_header_is_401(signed_in) -> None:
    client, body, _, _ = signed_in
    assert client.get(ME).status_code == 401
    assert client.get(ME, headers={"Authorization": body["access_token"]}).status_code == 401
    assert client.get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401


def test_access_token_is_refused_at_the_refresh_endpoint(signed_in) -> None:
    client, body, _, _ = signed_in
    resp = client.post("/api/v1/auth/refresh", json={"refresh_token": body["access_token"]})
    assert resp.status_code == 401


def test_refresh_rotates_and_the_new_pair_works(signed_in) -> None:
    client, body, _, _ = signed_in
    resp = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert resp.status_code == 200, resp.text
    pair = resp.json()
    assert pair["refresh_token"] != body["refresh_token"]
    assert client.get(ME, headers={"Authorization": f"Bearer {pair['access_token']}"}).status_code == 200
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 200


def test_reusing_a_spent_refresh_token_kills_the_whole_family(signed_in) -> None:
    client, body, _, _ = signed_in
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}).json()
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert replay.status_code == 401
    assert "revoked" in replay.json()["detail"]
    # Every token of the family is dead: the original and rotated access tokens, the rotated refresh token.
    for access in (body["access_token"], rotated["access_token"]):
        assert client.get(ME, headers={"Authorization": f"Bearer {access}"}).status_code == 401
    dead = client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert dead.status_code == 401


def test_logout_revokes_access_and_refresh_tokens_at_once(signed_in) -> None:
    client, body, _, _ = signed_in
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get(ME, headers=headers).status_code == 401
    spent = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert spent.status_code == 401


def test_logout_ends_only_that_session(make_client) -> None:
    client = make_client([])
    user, password = create_test_user(client.app.state.site, "Security")
    first = client.post("/api/v1/auth/login", json={"username": user.username, "password": password}).json()
    second = client.post("/api/v1/auth/login", json={"username": user.username, "password": password}).json()
    client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert client.get(ME, headers={"Authorization": f"Bearer {second['access_token']}"}).status_code == 200


def test_token_of_a_deactivated_user_stops_working(signed_in, auth_headers) -> None:
    client, body, _, user = signed_in
    admin = auth_headers(client, "Superadmin")
    assert client.post(f"/api/v1/users/{user.id}/deactivate", headers=admin).status_code == 200
    assert client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"}).status_code == 401
    spent = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert spent.status_code == 401


def test_sessions_live_in_redis_when_configured(signed_in) -> None:
    import redis

    _, body, settings, _ = signed_in
    r = redis.Redis.from_url(settings.redis_url)
    assert r.exists(f"erp:auth:session:{_sid(body['access_token'])}") == 1
    r.close()


def test_embedded_default_keeps_sessions_in_process(make_client) -> None:
    client = make_client([], redis_url="")
    user, password = create_test_user(client.app.state.site, "Security")
    body = client.post("/api/v1/auth/login", json={"username": user.username, "password": password}).json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get(ME, headers=headers).status_code == 200
    client.post("/api/v1/auth/logout", headers=headers)
    assert client.get(ME, headers=headers).status_code == 401


def test_change_password_needs_the_current_one_and_ends_sessions(signed_in) -> None:
    client, body, _, _ = signed_in
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    wrong = client.post(
        "/api/v1/auth/change-password",
        headers=headers,
        json={"current_password": "not-it-at-all", "new_password": "a-new-password-1"},
    )
    assert wrong.status_code == 422
    short = client.post(
        "/api/v1/auth/change-password",
        headers=headers,
        json={"current_password": "x", "new_password": "short"},
    )
    assert short.status_code == 422
    me = client.get(ME, headers=headers)
    assert me.status_code == 200
