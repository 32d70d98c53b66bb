"""on_po_received with a real `erp worker`: fabric then label receipts release the linked MOs partially
then fully, each audited once; a release production refuses is audited and does not poison the event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from erp_ppic.models import MoRelease
from erp_ppic.planning import plan_mo
from erp_ppic.sales import create_so, so_lines, transition
from erp_ppic.schemas import PlanMoIn, SoIn
from erp_production.mo import cancel_mo, get_mo
from ppic_testkit import PLUGINS, make_ppic_data, receive, sent_po
from sqlalchemy import func, select

from kernel.audit.models import AuditLog
from kernel.db import unit_of_work
from kernel.events.models import EventDelivery, OutboxEvent
from kernel.testing import wait_until

D = Decimal


def _level(site: Any, mo_id: int) -> str | None:
    with site.sessions() as s:
        return get_mo(s, mo_id=mo_id).release_level


def _audit(site: Any, action: str) -> list[str]:
    with site.sessions() as s:
        return list(
            s.scalars(
                select(AuditLog.entity_id)
                .where(AuditLog.entity_type == "ppic.mo", AuditLog.action == action)
                .order_by(AuditLog.entity_id)
            )
        )


def test_on_po_received_releases_linked_mos_with_a_real_worker(
    make_site: Any, event_worker: Any, broker_namespace: str, redis_url: str
) -> None:
    site = make_site(
        PLUGINS,
        broker="redis",
        broker_url=redis_url,
        broker_namespace=broker_namespace,
        events_backoff_base=0.05,
        events_backoff_max=0.2,
    )
    data = make_ppic_data(site)
    products, locations = data["products"], data["locations"]
    fabric = sent_po(
        site,
        po_type="fabric",
        product_id=products["FAB"],
        qty="120",
        location_id=locations["CUTTING"],
        supplier_id=data["supplier_id"],
    )
    label = sent_po(
        site,
        po_type="label",
        product_id=products["LBL"],
        qty="300",
        location_id=locations["PACKING"],
        supplier_id=data["supplier_id"],
        week="W05-2026",
        destination="SE",
    )
    links = [{"po_id": fabric, "role": "fabric"}, {"po_id": label, "role": "label"}]
    with unit_of_work(site.sessions) as s:
        so = create_so(
            s,
            data=SoIn.model_validate(
                {
                    "buyer_po_number": "NORD-1",
                    "customer_id": data["customer_id"],
                    "order_date": "2026-01-05",
                    "delivery_week": "W05-2026",
                    "destination": "SE",
                    "lines": [{"product_id": products["TEDDY"], "quantity": "400"}],
                }
            ),
        )
        transition(s, so_id=so.id, action="confirm")
        line = so_lines(s, so_id=so.id)[0].id

        def plan(batch: str, routing: str) -> int:
            body = {"so_line_id": line, "quantity": "100", "routing": routing, "batch_number": batch}
            return plan_mo(s, data=PlanMoIn.model_validate({**body, "purchase_orders": links})).id

        ok, ok2 = plan("B-1", "route1"), plan("B-2", "route1")
        # route3 needs a Subcon BOM that does not exist: production refuses to release it.
        refused = plan("B-3", "route3")
        gone = plan("B-4", "route1")
        cancel_mo(s, mo_id=gone)

    worker = event_worker(site.settings, processes=1, threads=2)
    receive(site, fabric)
    wait_until(
        lambda: _level(site, ok) == "partial" and _level(site, ok2) == "partial", timeout=60, interval=0.2
    )
    receive(site, label)
    wait_until(lambda: _level(site, ok) == "full" and _level(site, ok2) == "full", timeout=60, interval=0.2)

    def delivered() -> int:
        # PPIC also consumes stock_moved and mo_released (dashboard, alerts); count the receipts only.
        with site.sessions() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(EventDelivery)
                    .join(OutboxEvent, OutboxEvent.id == EventDelivery.event_id)
                    .where(
                        EventDelivery.plugin == "ppic",
                        EventDelivery.status == "delivered",
                        OutboxEvent.name == "po_received",
                    )
                )
                or 0
            )

    wait_until(lambda: delivered() == 2, timeout=60, interval=0.2)
    worker.stop()
    assert _level(site, refused) is None and _level(site, gone) is None
    with site.sessions() as s:
        releases = s.execute(
            select(MoRelease.mo_id, MoRelease.level, MoRelease.trigger, MoRelease.purchase_order_id).order_by(
                MoRelease.id
            )
        ).all()
        assert sorted(releases) == sorted(
            [
                (ok, "partial", "po_received", fabric),
                (ok2, "partial", "po_received", fabric),
                (ok, "full", "po_received", label),
                (ok2, "full", "po_received", label),
            ]
        )
        assert (
            s.scalar(select(func.count()).select_from(EventDelivery).where(EventDelivery.status == "dead"))
            == 0
        )
    assert _audit(site, "auto_release") == sorted([str(ok), str(ok), str(ok2), str(ok2)])
    # The route3 MO was refused once per receipt, and each refusal is on the audit trail.
    assert _audit(site, "auto_release_refused") == [str(refused), str(refused)]
