"""The example plugin's routes, mounted by the kernel under /api/v1/example."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from erp_example import service
from erp_example.models import Note
from kernel.deps import SessionDep
from kernel.errors import NotFound

router = APIRouter(prefix="/notes", tags=["example"])


class NoteIn(BaseModel):
    """A note to create."""

    text: str = Field(min_length=1, max_length=200)


class NoteOut(BaseModel):
    """A stored note."""

    id: int
    text: str
    created_at: datetime


@router.post("", status_code=201, response_model=NoteOut)
def create_note(body: NoteIn, session: SessionDep) -> NoteOut:
    """Create a note."""
    note = service.create_note(session, text=body.text)
    return NoteOut(id=note.id, text=note.text, created_at=note.created_at)


@router.get("/{note_id}", response_model=NoteOut)
def get_note(note_id: int, session: SessionDep) -> NoteOut:
    """Read a note."""
    note = session.scalar(select(Note).where(Note.id == note_id))
    if note is None:
        raise NotFound(f"note {note_id} does not exist")
    return NoteOut(id=note.id, text=note.text, created_at=note.created_at)
