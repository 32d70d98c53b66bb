"""Demo data of the quality plugin: defect categories and the lab tests of toy safety (ISO 8124)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_quality.models import DefectCategory, LabTestType

CATEGORIES = [
    ("ST-OPEN", "Open seam", "stitching", "major"),
    ("ST-SKIP", "Skipped stitches", "stitching", "minor"),
    ("MT-STAIN", "Stained fabric", "material", "minor"),
    ("MT-HOLE", "Hole in fabric", "material", "major"),
    ("FL-UNDER", "Under-filled body", "filling", "minor"),
    ("FL-LUMP", "Lumpy filling", "filling", "minor"),
    ("AS-EYE", "Loose eye", "assembly", "critical"),
    ("AS-ASYM", "Asymmetric limbs", "assembly", "minor"),
    ("PT-SMUDGE", "Paint or print smudge", "paint", "minor"),
    ("OT-METAL", "Metal contamination (needle, staple)", "other", "critical"),
]
TEST_TYPES = [
    # code, name, unit, standard, min, max
    ("DROP", "Drop test (no hazardous part released)", "drops", "ISO 8124-1 5.24.2", "10", None),
    ("STABILITY", "Stability (tip angle)", "deg", "ISO 8124-1 4.15", "15", None),
    ("SEAM", "Seam strength", "N", "ISO 8124-1 5.24.7", "70", None),
    ("TORQUE-EYE", "Eye torque", "N cm", "ISO 8124-1 5.24.5", "34", None),
]


def load_demo_data(session: Session) -> None:
    """Defect categories and lab test types (idempotent: looked up by code)."""
    for code, name, defect_type, severity in CATEGORIES:
        if session.scalar(select(DefectCategory.id).where(DefectCategory.code == code)) is None:
            session.add(
                DefectCategory(code=code, name=name, defect_type=defect_type, severity=severity, active=True)
            )
    for code, name, unit, standard, low, high in TEST_TYPES:
        if session.scalar(select(LabTestType.id).where(LabTestType.code == code)) is None:
            session.add(
                LabTestType(
                    code=code,
                    name=name,
                    unit=unit,
                    standard=standard,
                    active=True,
                    min_value=Decimal(low) if low else None,
                    max_value=Decimal(high) if high else None,
                )
            )
    session.flush()
