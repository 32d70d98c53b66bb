"""The example plugin's one business operation."""

from sqlalchemy.orm import Session

from erp_example.events import NoteCreated
from erp_example.models import Note
from kernel.events import emit
from kernel.site import site_of


def create_note(session: Session, *, text: str) -> Note:
    """Create a note (other plugins may veto it) and emit ``note_created`` in the same transaction."""
    site_of(session).registry.pm.hook.on_note_creating(session=session, text=text)
    note = Note(text=text)
    session.add(note)
    session.flush()
    emit(session, "note_created", NoteCreated(note_id=note.id, text=note.text), aggregate=f"note:{note.id}")
    return note
