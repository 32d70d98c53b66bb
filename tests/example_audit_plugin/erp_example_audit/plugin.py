"""Hook implementations of the audit test plugin."""

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel import KERNEL_API_VERSION
from kernel.events import EventEnvelope, Veto
from kernel.plugins import PluginManifest, hookimpl

manifest = PluginManifest(
    name="example_audit",
    version="0.1.0",
    kernel_api=(KERNEL_API_VERSION,),
    requires=("example",),
    description="Audits the example plugin's notes (test plugin).",
)


def _action(session: Session, text: str) -> str | None:
    from erp_example_audit.models import AuditRule

    return session.scalar(select(AuditRule.action).where(AuditRule.text == text).limit(1))


@hookimpl
def erp_models() -> Sequence[type[Any]]:
    from erp_example_audit.models import AuditEntry, AuditRule

    return [AuditEntry, AuditRule]


@hookimpl
def erp_migrations() -> Path:
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def on_note_creating(session: Session, text: str) -> None:
    if _action(session, text) == "veto":
        raise Veto(f"notes saying {text!r} are refused by the audit plugin")


@hookimpl
def on_note_created(session: Session, event: EventEnvelope[Any]) -> None:
    from erp_example_audit.models import AuditEntry

    action = _action(session, event.payload.text)
    if action == "fail":
        raise RuntimeError(f"audit refuses note {event.payload.note_id}")
    if action == "hang":
        for _ in range(600):  # short sleeps, so the time limit's interrupt lands between them
            time.sleep(0.05)
    if action == "kill" and os.environ.get("ERP_EXAMPLE_AUDIT_MAY_KILL") == "1":
        os.kill(os.getpid(), signal.SIGKILL)
    session.add(
        AuditEntry(
            event_id=event.id, note_id=event.payload.note_id, text=event.payload.text, attempt=event.attempt
        )
    )
