"""Real-time fan-out: after commit only, across workers through Redis, to WebSocket clients."""

from __future__ import annotations

import asyncio

from erp_example.models import Note
from fastapi.testclient import TestClient

from kernel.realtime import InProcessBroadcaster, RedisBroadcaster, get_broadcaster, publish_after_commit


async def first_message(broadcaster, channel: str, publish) -> dict:
    gen = broadcaster.subscribe(channel)
    task = asyncio.ensure_future(gen.__anext__())
    await asyncio.sleep(0.2)  # let the subscription settle before publishing
    await asyncio.get_running_loop().run_in_executor(None, publish)
    try:
        return await asyncio.wait_for(task, timeout=5)
    finally:
        await gen.aclose()


def test_redis_broadcast_reaches_another_worker(redis_url: str) -> None:
    worker_a, worker_b = RedisBroadcaster(redis_url), RedisBroadcaster(redis_url)
    got = asyncio.run(first_message(worker_a, "t.chan", lambda: worker_b.publish("t.chan", {"n": 1})))
    assert got == {"n": 1}
    worker_a.close()
    worker_b.close()


def test_in_process_broadcast() -> None:
    broadcaster = InProcessBroadcaster()
    got = asyncio.run(first_message(broadcaster, "c", lambda: broadcaster.publish("c", {"ok": True})))
    assert got == {"ok": True}


def test_publish_after_commit_only(make_site) -> None:
    site = make_site(["example"])
    sent: list[tuple[str, dict]] = []

    class Recorder:
        def publish(self, channel: str, message: dict) -> None:
            sent.append((channel, message))

    recorder = Recorder()
    with site.sessions() as session:
        session.add(Note(text="rolled back"))
        publish_after_commit(session, recorder, "c", {"n": 1})  # type: ignore[arg-type]
        session.rollback()
        assert sent == []
        session.add(Note(text="kept"))
        publish_after_commit(session, recorder, "c", {"n": 2})  # type: ignore[arg-type]
        publish_after_commit(session, recorder, "c", {"n": 3})  # type: ignore[arg-type]
        assert sent == []
        session.commit()
    assert sent == [("c", {"n": 2}), ("c", {"n": 3})]


def test_erp_websockets_pushes_created_notes_to_a_client(make_app) -> None:
    app = make_app(["example"])
    assert get_broadcaster(app.state.site).__class__ is RedisBroadcaster
    with TestClient(app) as client, client.websocket_connect("/ws/example/notes") as ws:
        import time

        time.sleep(0.3)  # subscription in place
        created = client.post("/api/v1/example/notes", json={"text": "live"}).json()
        assert ws.receive_json() == created
