"""The events the example plugin emits, with their payload schemas."""

from pydantic import BaseModel

from kernel.events import Event


class NoteCreated(BaseModel):
    """Payload of ``note_created`` (version 1)."""

    note_id: int
    text: str


NOTE_CREATED = Event(name="note_created", version=1, payload=NoteCreated, description="A note was created.")
