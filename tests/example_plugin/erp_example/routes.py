"""The example plugin's routes, mounted by the kernel under /api/v1/example."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from erp_example.models import Note
from kernel.audit import record_change
from kernel.deps import SessionDep
from kernel.errors import NotFound
from kernel.rbac import Principal, require

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
def create_note(body: NoteIn, session: SessionDep,
                principal: Annotated[Principal, Depends(require("example.notes.create"))]) -> NoteOut:
    """Create a note."""
    note = Note(text=body.text)
    session.add(note)
    session.flush()
    record_change(session, entity_type="example.note", entity_id=note.id, action="create",
                  new={"text": note.text})
    return NoteOut(id=note.id, text=note.text, created_at=note.created_at)


@router.get("/{note_id}", response_model=NoteOut)
def get_note(note_id: int, session: SessionDep,
             principal: Annotated[Principal, Depends(require("example.notes.view"))]) -> NoteOut:
    """Read a note."""
    note = session.scalar(select(Note).where(Note.id == note_id))
    if note is None:
        raise NotFound(f"note {note_id} does not exist")
    return NoteOut(id=note.id, text=note.text, created_at=note.created_at)
