"""Metal-detector results on the pre-packing and final checkpoints: any failure fails the units, moves
exactly the failed quantity to quarantine and raises a critical ``inspection_failed``."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from erp_quality.actor import Actor
from erp_quality.models import Inspection, MetalDetection
from erp_quality.schemas import MetalDetectorIn
from erp_quality.segregation import segregate
from kernel.errors import ValidationFailed


def check_metal_input(
    inspection: Inspection, result: MetalDetectorIn, defective: Decimal
) -> list[dict[str, str]]:
    """Field errors of a metal-detector result against the inspection it belongs to."""
    errors = []
    if inspection.checkpoint not in ("pre_packing", "final"):
        errors.append({"field": "metal_detector", "message": "only at the pre_packing and final checkpoints"})
    if result.checked_qty > inspection.inspected_qty:
        errors.append({"field": "metal_detector.checked_qty", "message": "more than inspected"})
    if result.failed_qty > result.checked_qty:
        errors.append({"field": "metal_detector.failed_qty", "message": "more than checked"})
    if result.failed_qty > defective:
        errors.append(
            {
                "field": "metal_detector.failed_qty",
                "message": "failed units must be counted as rework or scrap",
            }
        )
    return errors


def record_metal_detection(
    session: Session, *, inspection: Inspection, result: MetalDetectorIn, actor: Actor
) -> MetalDetection:
    """Store a metal-detector run; quarantine the failed units from the inspection's location."""
    run = MetalDetection(
        inspection_id=inspection.id,
        checked_qty=result.checked_qty,
        failed_qty=result.failed_qty,
        detector=result.detector,
    )
    inspection.metal_checks.append(run)
    if result.failed_qty > 0:
        if inspection.product_id is None or inspection.location_id is None:
            raise ValidationFailed(
                "a metal-detector failure quarantines the units: the inspection needs a product and location",
                errors=[
                    {"field": f, "message": "required for a metal-detector failure"}
                    for f, v in (
                        ("product_id", inspection.product_id),
                        ("location_id", inspection.location_id),
                    )
                    if v is None
                ],
            )
        segregation = segregate(
            session,
            product_id=inspection.product_id,
            from_location_id=inspection.location_id,
            quantity=result.failed_qty,
            reason=f"metal detector failure at {inspection.checkpoint} (inspection {inspection.id})",
            source="metal_detector",
            department=inspection.department,
            inspection_id=inspection.id,
            spk_id=inspection.spk_id,
            batch_number=inspection.batch_number,
            actor=actor,
        )
        run.segregation_id = segregation.id
    session.flush()
    return run
