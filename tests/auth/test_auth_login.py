"""Login throttling, indistinguishable failures, password hashing and no self-registration."""

from __future__ import annotations

import time

from argon2 import PasswordHasher
from sqlalchemy import select, update

from kernel.auth.models import User
from kernel.testing import create_test_user

LOGIN = "/api/v1/auth/login"


def _strip(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "request_id"}


def test_unknown_user_and_wrong_password_get_identical_answers(make_client) -> None:
    client = make_client([])
    user, _ = create_test_user(client.app.state.site, "Security")
    started = time.perf_counter()
    unknown = client.post(LOGIN, json={"username": "nobody-here", "password": "whatever-123"})
    unknown_time = time.perf_counter() - started
    started = time.perf_counter()
    wrong = client.post(LOGIN, json={"username": user.username, "password": "whatever-123"})
    wrong_time = time.perf_counter() - started
    assert unknown.status_code == wrong.status_code == 401
    assert _strip(unknown.json()) == _strip(wrong.json())
    assert unknown.json()["detail"] == "invalid username or password"
    # Both run one Argon2 verification; an unknown name must not answer noticeably faster.
    assert unknown_time > wrong_time * 0.5


def test_inactive_user_with_the_right_password_gets_the_same_answer(make_client) -> None:
    client = make_client([])
    site = client.app.state.site
    user, password = create_test_user(site, "Security")
    with site.sessions.begin() as session:
        session.execute(update(User).where(User.id == user.id).values(is_active=False))
    resp = client.post(LOGIN, json={"username": user.username, "password": password})
    assert resp.status_code == 401 and resp.json()["detail"] == "invalid username or password"


def test_the_n_plus_first_attempt_is_refused_even_with_the_right_password(make_client) -> None:
    client = make_client([], login_max_failures_per_account=3)
    user, password = create_test_user(client.app.state.site, "Security")
    for _ in range(3):
        wrong = client.post(LOGIN, json={"username": user.username, "password": "wrong-password"})
        assert wrong.status_code == 401
    locked = client.post(LOGIN, json={"username": user.username, "password": password})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    # Another account from the same address is not locked by this one's failures.
    other, other_password = create_test_user(client.app.state.site, "Security")
    other_login = client.post(LOGIN, json={"username": other.username, "password": other_password})
    assert other_login.status_code == 200


def test_unknown_usernames_are_throttled_like_real_ones(make_client) -> None:
    client = make_client([], login_max_failures_per_account=2)
    for _ in range(2):
        assert client.post(LOGIN, json={"username": "ghost", "password": "x"}).status_code == 401
    assert client.post(LOGIN, json={"username": "ghost", "password": "x"}).status_code == 429


def test_failures_per_address_lock_out_the_address(make_client) -> None:
    client = make_client([], login_max_failures_per_address=4, login_max_failures_per_account=100)
    user, password = create_test_user(client.app.state.site, "Security")
    for i in range(4):
        client.post(LOGIN, json={"username": f"someone{i}", "password": "guess-guess"})
    assert client.post(LOGIN, json={"username": user.username, "password": password}).status_code == 429


def test_lockout_ends_with_the_window(make_client) -> None:
    client = make_client([], login_max_failures_per_account=1, login_lockout_seconds=1)
    user, password = create_test_user(client.app.state.site, "Security")
    client.post(LOGIN, json={"username": user.username, "password": "wrong-password"})
    assert client.post(LOGIN, json={"username": user.username, "password": password}).status_code == 429
    time.sleep(2.1)
    assert client.post(LOGIN, json={"username": user.username, "password": password}).status_code == 200


def test_throttling_works_without_redis_too(make_client) -> None:
    client = make_client([], redis_url="", login_max_failures_per_account=1)
    user, password = create_test_user(client.app.state.site, "Security")
    client.post(LOGIN, json={"username": user.username, "password": "wrong-password"})
    assert client.post(LOGIN, json={"username": user.username, "password": password}).status_code == 429


def test_passwords_are_argon2id_with_owasp_parameters(make_client) -> None:
    client = make_client([])
    site = client.app.state.site
    user, _ = create_test_user(site, "Security")
    with site.sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_weaker_hashes_are_upgraded_at_login(make_client) -> None:
    client = make_client([])
    site = client.app.state.site
    user, password = create_test_user(site, "Security")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(password)
    with site.sessions.begin() as session:
        session.execute(update(User).where(User.id == user.id).values(password_hash=weak))
    assert client.post(LOGIN, json={"username": user.username, "password": password}).status_code == 200
    with site.sessions() as session:
        upgraded = session.scalar(select(User.password_hash).where(User.id == user.id))
    assert upgraded != weak and upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_usernames_are_case_insensitive_at_login(make_client) -> None:
    client = make_client([])
    user, password = create_test_user(client.app.state.site, "Security")
    upper = client.post(LOGIN, json={"username": user.username.upper(), "password": password})
    assert upper.status_code == 200


def test_bad_login_bodies_are_422_not_500(make_client) -> None:
    client = make_client([])
    for body in (
        {},
        {"username": "x"},
        {"username": "", "password": ""},
        {"username": 1, "password": []},
        {"username": "a" * 65, "password": "x"},
        {"username": "a", "password": "x", "role": "Superadmin"},
    ):
        assert client.post(LOGIN, json=body).status_code == 422, body


def test_there_is_no_registration_endpoint(make_client) -> None:
    client = make_client(["example"])
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if "regist" in p or "signup" in p or "sign-up" in p]
    # Creating users is a guarded admin route: anonymous callers get 401, not an account.
    anonymous = client.post(
        "/api/v1/users",
        json={
            "username": "mallory",
            "full_name": "M",
            "roles": ["Superadmin"],
            "password": "mallory-password",
        },
    )
    assert anonymous.status_code == 401
    for path in ("/api/v1/auth/register", "/api/v1/auth/signup", "/api/v1/register"):
        resp = client.post(path, json={"username": "m", "password": "p", "roles": ["Superadmin"]})
        assert resp.status_code in (404, 405)


def test_change_password_then_sign_in_with_the_new_one(make_client) -> None:
    client = make_client([])
    user, password = create_test_user(client.app.state.site, "Security")
    body = client.post(LOGIN, json={"username": user.username, "password": password}).json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    resp = client.post(
        "/api/v1/auth/change-password",
        headers=headers,
        json={"current_password": password, "new_password": "brand-new-password-9"},
    )
    assert resp.status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401  # sessions ended
    assert client.post(LOGIN, json={"username": user.username, "password": password}).status_code == 401
    assert (
        client.post(LOGIN, json={"username": user.username, "password": "brand-new-password-9"}).status_code
        == 200
    )
