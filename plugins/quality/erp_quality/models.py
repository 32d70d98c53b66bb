"""The quality plugin's tables: defect categories, inspections with their defects and metal-detector
results, lab test types and results, batch releases and segregations (all prefixed ``quality_``).

SPKs and MOs reference the production plugin's tables; products and locations the warehouse's.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import Base

DEFECT_TYPES = ("stitching", "material", "filling", "assembly", "paint", "other")
SEVERITIES = ("minor", "major", "critical")
CHECKPOINTS = ("after_cutting", "after_sewing", "after_finishing", "pre_packing", "final")
METAL_CHECKPOINTS = ("pre_packing", "final")
"""Checkpoints where the metal detector runs."""
CHECKPOINT_DEPARTMENT = {
    "after_cutting": "Cutting",
    "after_sewing": "Sewing",
    "after_finishing": "Finishing",
    "pre_packing": "Packing",
}
"""The department whose output an inline checkpoint inspects (a final inspection takes the SPK's)."""
INSPECTION_KINDS = ("inline", "final")
INSPECTION_STATUSES = ("pending", "passed", "failed")
SEGREGATION_STATUSES = ("quarantined", "acknowledged", "released", "scrapped")
SEGREGATION_SOURCES = ("manual", "inspection", "metal_detector")


class DefectCategory(Base):
    """A kind of defect inspectors record (e.g. ``ST-OPEN``: open seam, stitching, major)."""

    __tablename__ = "quality_defect_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    defect_type: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Inspection(Base):
    """One inspection at a checkpoint of an SPK's (or a batch's) output: inspected = pass + rework + scrap.

    A final inspection is created pending by the ``spk_completed`` handler; ``final_spk_id`` is unique,
    so an SPK never gets two, however often the event arrives.
    """

    __tablename__ = "quality_inspection"
    __table_args__ = (Index("ix_quality_inspection_department_inspected_at", "department", "inspected_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    checkpoint: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), index=True)
    spk_id: Mapped[int | None] = mapped_column(ForeignKey("production_spk.id"), index=True)
    mo_id: Mapped[int | None] = mapped_column(ForeignKey("production_mo.id"))
    final_spk_id: Mapped[int | None] = mapped_column(ForeignKey("production_spk.id"), unique=True)
    batch_number: Mapped[str | None] = mapped_column(String(60), index=True)
    department: Mapped[str] = mapped_column(String(40))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_product.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_location.id"))
    expected_qty: Mapped[Decimal | None]
    inspected_qty: Mapped[Decimal] = mapped_column(default=Decimal(0))
    pass_qty: Mapped[Decimal] = mapped_column(default=Decimal(0))
    rework_qty: Mapped[Decimal] = mapped_column(default=Decimal(0))
    scrap_qty: Mapped[Decimal] = mapped_column(default=Decimal(0))
    inspector_id: Mapped[int | None]
    inspector: Mapped[str | None] = mapped_column(String(64))
    inspected_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    defects: Mapped[list[InspectionDefect]] = relationship(
        back_populates="inspection", order_by="InspectionDefect.id", cascade="all, delete-orphan"
    )
    metal_checks: Mapped[list[MetalDetection]] = relationship(
        back_populates="inspection", order_by="MetalDetection.id", cascade="all, delete-orphan"
    )


class InspectionDefect(Base):
    """Defective units of one category found by an inspection, and where on the toy."""

    __tablename__ = "quality_inspection_defect"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("quality_inspection.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("quality_defect_category.id"), index=True)
    quantity: Mapped[Decimal]
    location_on_toy: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(String(200))

    inspection: Mapped[Inspection] = relationship(back_populates="defects")
    category: Mapped[DefectCategory] = relationship()


class MetalDetection(Base):
    """A metal-detector run over an inspection's units; failed units are segregated."""

    __tablename__ = "quality_metal_detection"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("quality_inspection.id"), index=True)
    checked_qty: Mapped[Decimal]
    failed_qty: Mapped[Decimal]
    segregation_id: Mapped[int | None] = mapped_column(ForeignKey("quality_segregation.id"))
    detector: Mapped[str | None] = mapped_column(String(60))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    inspection: Mapped[Inspection] = relationship(back_populates="metal_checks")


class LabTestType(Base):
    """A configurable lab test (drop test, stability, seam strength...) with its limit and standard."""

    __tablename__ = "quality_lab_test_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(20))
    standard: Mapped[str | None] = mapped_column(String(60))
    min_value: Mapped[Decimal | None]
    max_value: Mapped[Decimal | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class LabTest(Base):
    """One lab test of a batch: the measured value against the limit in force when it was recorded."""

    __tablename__ = "quality_lab_test"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_number: Mapped[str] = mapped_column(String(60), index=True)
    test_type_id: Mapped[int] = mapped_column(ForeignKey("quality_lab_test_type.id"))
    spk_id: Mapped[int | None] = mapped_column(ForeignKey("production_spk.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_product.id"))
    measured_value: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    unit: Mapped[str] = mapped_column(String(20))
    standard: Mapped[str | None] = mapped_column(String(60))
    min_value: Mapped[Decimal | None]
    max_value: Mapped[Decimal | None]
    passed: Mapped[bool] = mapped_column(Boolean)
    evidence_ref: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)
    tested_by_id: Mapped[int | None]
    tested_by: Mapped[str | None] = mapped_column(String(64))
    tested_at: Mapped[datetime] = mapped_column(default=utcnow)

    test_type: Mapped[LabTestType] = relationship()


class BatchRelease(Base):
    """A batch released for shipping by QC (one per batch)."""

    __tablename__ = "quality_batch_release"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_number: Mapped[str] = mapped_column(String(60), unique=True)
    pass_rate: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    tests: Mapped[int]
    released_by_id: Mapped[int | None]
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime] = mapped_column(default=utcnow)


class Segregation(Base):
    """Failed or suspect units held in quarantine: quarantined -> acknowledged -> released | scrapped."""

    __tablename__ = "quality_segregation"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(15), index=True)
    source: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(40), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("warehouse_product.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_lot.id"))
    quantity: Mapped[Decimal]
    from_location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    quarantine_location_id: Mapped[int] = mapped_column(ForeignKey("warehouse_location.id"))
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("quality_inspection.id"))
    spk_id: Mapped[int | None] = mapped_column(ForeignKey("production_spk.id"))
    batch_number: Mapped[str | None] = mapped_column(String(60))
    quarantine_move_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_stock_move.id"))
    close_move_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse_stock_move.id"))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    resolution_note: Mapped[str | None] = mapped_column(String(300))


MODELS: list[type[Base]] = [
    DefectCategory,
    Inspection,
    InspectionDefect,
    MetalDetection,
    LabTestType,
    LabTest,
    BatchRelease,
    Segregation,
]
