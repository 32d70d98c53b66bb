"""Helpers of the ppic tests: the production testkit's factory plus quarantine, QC categories and
shortcuts that go through the other plugins' services (MOs, daily input, inspections, transfers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from erp_production import daily, mo, spk
from erp_production.models import Spk
from erp_production.schemas import MoIn
from erp_quality.actor import Actor
from erp_quality.demo import load_demo_data
from erp_quality.inspections import create_inline_inspection
from erp_quality.models import DefectCategory
from erp_quality.schemas import InlineInspectionIn
from erp_warehouse import masterdata
from erp_warehouse.schemas import LocationIn
from production_testkit import Factory, make_master_data
from sqlalchemy import select

from kernel.db import unit_of_work
from kernel.site import Site

PLUGINS = ["approval", "warehouse", "production", "quality", "ppic"]
D = Decimal


@dataclass
class Plant(Factory):
    """The production factory with quality's defect categories."""

    categories: dict[str, int] | None = None

    def release(
        self,
        *,
        batch: str,
        qty: str = "100",
        routing: str = "route1",
        planned_end: date | None = None,
        level: str = "full",
    ) -> list[Spk]:
        """Create and release an MO through production's services; its SPKs (detached)."""
        with self.session() as s:
            order = mo.create_mo(
                s,
                data=MoIn(
                    product_id=self.products["TEDDY"],
                    quantity=D(qty),
                    routing=routing,
                    batch_number=batch,
                    week="W05-2026",
                    destination="SE",
                    planned_end=planned_end,
                ),
            )
            _, created = mo.release_mo(s, mo_id=order.id, level=level, user="ppic")
            s.expunge_all()
        return created

    def daily_input(
        self, spk_id: int, work_date: date, good: str, defect: str = "0", rework: str = "0", user: str = "op"
    ) -> None:
        """Post one day's output through ``daily.post_daily_input``."""
        with self.session() as s:
            daily.post_daily_input(
                s,
                hooks=self.hooks,
                spk_id=spk_id,
                work_date=work_date,
                good=D(good),
                defect=D(defect),
                rework=D(rework),
                user=user,
            )

    def start(self, spk_id: int) -> None:
        """Start an SPK explicitly."""
        with self.session() as s:
            spk.start_spk(s, spk_id=spk_id, user="spv")

    def complete(self, spk_id: int) -> None:
        """Complete an SPK explicitly."""
        with self.session() as s:
            spk.complete_spk(s, spk_id=spk_id, user="spv")

    def inspect(
        self,
        *,
        checkpoint: str,
        spk_id: int | None = None,
        inspected: str,
        passed: str,
        rework: str = "0",
        scrap: str = "0",
        defects: list[dict[str, Any]] | None = None,
        metal: dict[str, str] | None = None,
        location: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Record an inline inspection through quality's service; its id."""
        data = InlineInspectionIn.model_validate(
            {
                "checkpoint": checkpoint,
                "spk_id": spk_id,
                "batch_number": None if spk_id else "B-QC",
                "product_id": None if spk_id else self.products["TEDDY"],
                "inspected_qty": inspected,
                "pass_qty": passed,
                "rework_qty": rework,
                "scrap_qty": scrap,
                "defects": defects or [],
                "metal_detector": metal,
                "location_id": self.locations[location] if location else None,
                "inspected_at": at,
            }
        )
        with self.session() as s:
            return create_inline_inspection(s, data=data, actor=Actor(username="qc")).id


def make_plant(site: Site) -> Plant:
    """Master data of the production testkit, a quarantine location and quality's demo categories."""
    with unit_of_work(site.sessions) as session:
        data = make_master_data(session)
        quarantine = masterdata.create_record(
            session,
            kind="locations",
            data=LocationIn(code="QUARANTINE", name="Quarantine", kind="quarantine", parent_id=None),
        ).id
        data["locations"]["QUARANTINE"] = quarantine
        load_demo_data(session)
        categories = {c.code: c.id for c in session.scalars(select(DefectCategory))}
    return Plant(site=site, categories=categories, **data)
