"""Hook implementations of the example plugin."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel import KERNEL_API_VERSION
from kernel.config import Settings
from kernel.plugins import PluginManifest, hookimpl

manifest = PluginManifest(
    name="example",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    description="Example plugin for the kernel's tests.",
)


@hookimpl
def erp_models() -> Sequence[type[Any]]:
    from erp_example.models import Note

    return [Note]


@hookimpl
def erp_migrations() -> Path:
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def erp_routers() -> Sequence[Any]:
    from erp_example.routes import router

    return [router]


@hookimpl
def erp_websockets() -> Sequence[Any]:
    from erp_example.routes import ws_router

    return [ws_router]


def notes_not_blank(session: Session) -> Iterable[str]:
    """Every note has some text."""
    from erp_example.models import Note

    for note_id in session.scalars(select(Note.id).where(func.trim(Note.text) == "")):
        yield f"note {note_id} is blank"


@hookimpl
def erp_checks() -> Sequence[Any]:
    return [notes_not_blank]


def heartbeat(session: Session, scheduled_for: datetime) -> None:
    """Write one note per period (lets tests count runs)."""
    from erp_example.models import Note

    session.add(Note(text=f"heartbeat {scheduled_for.isoformat()}"))


@hookimpl
def erp_periodic_jobs() -> Sequence[Any]:
    from kernel.scheduler import PeriodicJob

    return [PeriodicJob(name="example.heartbeat", run=heartbeat, every_seconds=1, description="test job")]


@hookimpl
def erp_demo_data(session: Session, settings: Settings) -> None:
    from erp_example.models import Note

    if session.scalar(select(Note.id).where(Note.text == "hello from the demo")) is None:
        session.add(Note(text="hello from the demo"))
