"""Idempotency-Key: a retried write returns the first response and changes nothing twice."""

from __future__ import annotations

import threading

from erp_example.models import Note
from sqlalchemy import func, select


def count_notes(client) -> int:
    with client.app.state.site.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Note)))


def test_same_key_replays_the_first_response(make_client) -> None:
    client = make_client(["example"])
    headers = {"Idempotency-Key": "k-1"}
    first = client.post("/api/v1/example/notes", json={"text": "once"}, headers=headers)
    second = client.post("/api/v1/example/notes", json={"text": "once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotency-replayed"] == "true"
    assert "idempotency-replayed" not in first.headers
    assert count_notes(client) == 1


def test_without_a_key_every_request_writes(make_client) -> None:
    client = make_client(["example"])
    for _ in range(2):
        assert client.post("/api/v1/example/notes", json={"text": "twice"}).status_code == 201
    assert count_notes(client) == 2


def test_same_key_with_a_different_body_is_refused(make_client) -> None:
    client = make_client(["example"])
    headers = {"Idempotency-Key": "k-2"}
    assert client.post("/api/v1/example/notes", json={"text": "a"}, headers=headers).status_code == 201
    other = client.post("/api/v1/example/notes", json={"text": "b"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert count_notes(client) == 1


def test_a_failed_first_attempt_leaves_the_key_free(make_client) -> None:
    client = make_client(["example"])
    headers = {"Idempotency-Key": "k-3"}
    assert client.post("/api/v1/example/notes", json={"text": "fail"}, headers=headers).status_code == 409
    # The failure rolled back its claim: the same key with a corrected body... is a different request,
    # and the identical request runs again for real.
    assert client.post("/api/v1/example/notes", json={"text": "fail"}, headers=headers).status_code == 409
    assert client.post("/api/v1/example/notes", json={"text": "ok"}, headers=headers).status_code == 201
    assert count_notes(client) == 1


def test_malformed_key_is_a_422(make_client) -> None:
    client = make_client(["example"])
    resp = client.post("/api/v1/example/notes", json={"text": "x"}, headers={"Idempotency-Key": "x" * 201})
    assert resp.status_code == 422
    assert count_notes(client) == 0


def test_concurrent_duplicates_write_once_and_answer_alike(make_client) -> None:
    client = make_client(["example"])
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        resp = client.post(
            "/api/v1/example/notes", json={"text": "race"}, headers={"Idempotency-Key": "k-race"}
        )
        with lock:
            results.append((resp.status_code, resp.json()))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count_notes(client) == 1
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
