"""Release triggers: warehouse's ``po_received`` releases the MOs linked to the purchase order.

A fabric receipt releases an MO partially, a label receipt (with its fabric arrived) fully, as
``planning.arrived_level`` decides. Idempotent: the MO's row lock and its current release level make a
redelivered or repeated receipt a no-op (no second release, no second audit row). A release production
refuses (the MO was cancelled meanwhile, a BOM or store is missing) is rolled back to a savepoint and
audited as ``auto_release_refused``; the event itself succeeds, so it never retries into a dead letter.
"""

from __future__ import annotations

import logging
from typing import Any

from erp_production.models import ManufacturingOrder
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_ppic.models import MoPurchaseOrder
from erp_ppic.planning import release
from kernel.audit import record_change
from kernel.audit.recording import PENDING_KEY
from kernel.errors import Conflict, NotFound, ValidationFailed

log = logging.getLogger(__name__)


def handle_po_received(session: Session, *, event: Any) -> list[tuple[int, str]]:
    """Release every MO linked to the received PO as far as its POs now allow; returns (MO, level)
    for each release made."""
    payload = event.payload
    mo_ids = list(
        session.scalars(
            select(MoPurchaseOrder.mo_id)
            .where(MoPurchaseOrder.purchase_order_id == payload.po_id)
            .order_by(MoPurchaseOrder.mo_id)
        )
    )
    done: list[tuple[int, str]] = []
    for mo_id in mo_ids:
        pending = session.info.get(PENDING_KEY) or []
        mark = len(pending)
        savepoint = session.begin_nested()
        try:
            _, level, _ = release(
                session,
                mo_id=mo_id,
                level=None,
                trigger="po_received",
                purchase_order_id=payload.po_id,
                event_id=str(event.id),
                user="ppic:po_received",
            )
        except (Conflict, ValidationFailed, NotFound) as exc:
            savepoint.rollback()
            del (session.info.get(PENDING_KEY) or [])[mark:]
            number = session.scalar(select(ManufacturingOrder.number).where(ManufacturingOrder.id == mo_id))
            log.warning("ppic: automatic release of %s after %s refused: %s", number, payload.number, exc)
            record_change(
                session,
                entity_type="ppic.mo",
                entity_id=mo_id,
                action="auto_release_refused",
                new={"purchase_order_id": payload.po_id, "event_id": str(event.id), "reason": str(exc)},
            )
            continue
        savepoint.commit()
        if level is not None:
            done.append((mo_id, level))
    return done
