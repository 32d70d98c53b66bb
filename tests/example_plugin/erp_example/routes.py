"""The example plugin's routes, mounted by the kernel under /api/v1/example."""

from datetime import datetime

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, Field
from sqlalchemy import select

from erp_example.models import Note
from kernel.deps import SessionDep, SiteDep
from kernel.errors import Conflict, NotFound
from kernel.idempotency import IdempotencyDep
from kernel.realtime import get_broadcaster, publish_after_commit

router = APIRouter(prefix="/notes", tags=["example"])
ws_router = APIRouter()


class NoteIn(BaseModel):
    """A note to create."""

    text: str = Field(min_length=1, max_length=200)


class NoteOut(BaseModel):
    """A stored note."""

    id: int
    text: str
    created_at: datetime


@router.post("", status_code=201, response_model=NoteOut)
def create_note(body: NoteIn, session: SessionDep, idem: IdempotencyDep, site: SiteDep) -> NoteOut:
    """Create a note. Safe to retry with an `Idempotency-Key` header."""
    if body.text == "fail":  # lets tests see what a failed first attempt leaves behind
        raise Conflict("notes saying 'fail' are refused")
    note = Note(text=body.text)
    session.add(note)
    session.flush()
    out = NoteOut(id=note.id, text=note.text, created_at=note.created_at)
    publish_after_commit(session, get_broadcaster(site), "example.notes", out.model_dump(mode="json"))
    return idem.remember(out, status_code=201)


@router.get("/{note_id}", response_model=NoteOut)
def get_note(note_id: int, session: SessionDep) -> NoteOut:
    """Read a note."""
    note = session.scalar(select(Note).where(Note.id == note_id))
    if note is None:
        raise NotFound(f"note {note_id} does not exist")
    return NoteOut(id=note.id, text=note.text, created_at=note.created_at)


@ws_router.websocket("/notes")
async def watch_notes(websocket: WebSocket) -> None:
    """Push every note created from now on (channel ``example.notes``)."""
    site = websocket.app.state.site
    await websocket.accept()
    async for message in get_broadcaster(site).subscribe("example.notes"):
        await websocket.send_json(message)
