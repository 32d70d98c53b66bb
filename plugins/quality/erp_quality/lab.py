"""Lab tests per batch (drop test, stability, seam strength, ...): measured value against the configured
limit, batch pass rate and band, and the QC release that lets a batch ship."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from erp_production.models import Spk
from erp_warehouse.models import Product
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_quality.actor import Actor
from erp_quality.events import BatchReleased
from erp_quality.models import BatchRelease, LabTest, LabTestType
from erp_quality.schemas import LabTestIn, LabTestTypeIn, LabTestTypePatch
from kernel.audit import record_change
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.events import emit

GOOD = Decimal(95)
WARNING = Decimal(85)
CENT = Decimal("0.01")


def band(pass_rate: Decimal) -> str:
    """good >= 95 %, warning >= 85 %, else critical."""
    return "good" if pass_rate >= GOOD else "warning" if pass_rate >= WARNING else "critical"


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """``part`` of ``whole`` in percent, rounded half-up to 0.01."""
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP)


# --- test types --------------------------------------------------------------------------------------


def _check_limits(min_value: Decimal | None, max_value: Decimal | None) -> None:
    if min_value is None and max_value is None:
        raise ValidationFailed(
            "a test needs a limit",
            errors=[{"field": "min_value", "message": "min_value or max_value required"}],
        )
    if min_value is not None and max_value is not None and min_value > max_value:
        raise ValidationFailed("empty range", errors=[{"field": "max_value", "message": "below min_value"}])


def list_test_types(session: Session, *, active: bool | None = None) -> Sequence[LabTestType]:
    """Lab test types by code."""
    stmt = select(LabTestType).order_by(LabTestType.code)
    if active is not None:
        stmt = stmt.where(LabTestType.active == active)
    return session.scalars(stmt).all()


def create_test_type(session: Session, *, data: LabTestTypeIn) -> LabTestType:
    """Configure a new lab test with its limit."""
    _check_limits(data.min_value, data.max_value)
    if session.scalar(select(LabTestType.id).where(LabTestType.code == data.code)) is not None:
        raise Conflict(f"lab test type {data.code} exists", errors=[{"field": "code", "message": "taken"}])
    test_type = LabTestType(**data.model_dump())
    session.add(test_type)
    session.flush()
    record_change(
        session,
        entity_type="quality.lab_test_type",
        entity_id=test_type.id,
        action="create",
        new=data.model_dump(mode="json"),
    )
    return test_type


def update_test_type(session: Session, *, test_type_id: int, data: LabTestTypePatch) -> LabTestType:
    """Change a lab test type (tests already recorded keep the limit they were judged against)."""
    test_type = session.get(LabTestType, test_type_id)
    if test_type is None:
        raise NotFound(f"lab test type {test_type_id} does not exist")
    changes = data.model_dump(exclude_unset=True)
    old = {k: str(getattr(test_type, k)) for k in changes}
    for name, value in changes.items():
        setattr(test_type, name, value)
    _check_limits(test_type.min_value, test_type.max_value)
    session.flush()
    record_change(
        session,
        entity_type="quality.lab_test_type",
        entity_id=test_type.id,
        action="update",
        old=old,
        new={k: str(getattr(test_type, k)) for k in changes},
    )
    return test_type


# --- tests and batch results ------------------------------------------------------------------------


def record_lab_test(session: Session, *, data: LabTestIn, actor: Actor) -> LabTest:
    """Record a measured value; pass/fail against the type's limit; a failure needs evidence."""
    test_type = session.get(LabTestType, data.test_type_id)
    errors = []
    if test_type is None or not test_type.active:
        errors.append({"field": "test_type_id", "message": "unknown or inactive lab test type"})
    elif data.unit is not None and data.unit != test_type.unit:
        errors.append({"field": "unit", "message": f"this test is measured in {test_type.unit}"})
    if data.product_id is not None and session.get(Product, data.product_id) is None:
        errors.append({"field": "product_id", "message": "unknown product"})
    if data.spk_id is not None and session.get(Spk, data.spk_id) is None:
        errors.append({"field": "spk_id", "message": "unknown SPK"})
    if errors:
        raise ValidationFailed("invalid lab test", errors=errors)
    assert test_type is not None
    value = data.measured_value
    passed = (test_type.min_value is None or value >= test_type.min_value) and (
        test_type.max_value is None or value <= test_type.max_value
    )
    if not passed and not (data.evidence_ref and data.evidence_ref.strip()):
        raise ValidationFailed(
            "a failed lab test needs evidence",
            errors=[
                {
                    "field": "evidence_ref",
                    "message": "required when the test fails (photo or report reference)",
                }
            ],
        )
    if (
        session.scalar(select(BatchRelease.id).where(BatchRelease.batch_number == data.batch_number))
        is not None
    ):
        raise Conflict(f"batch {data.batch_number} is released; its results are closed")
    test = LabTest(
        batch_number=data.batch_number,
        test_type_id=test_type.id,
        spk_id=data.spk_id,
        product_id=data.product_id,
        measured_value=value,
        unit=test_type.unit,
        standard=data.standard or test_type.standard,
        min_value=test_type.min_value,
        max_value=test_type.max_value,
        passed=passed,
        evidence_ref=data.evidence_ref,
        notes=data.notes,
        tested_by_id=actor.user_id,
        tested_by=actor.username,
        tested_at=utcnow(),
    )
    session.add(test)
    session.flush()
    record_change(
        session,
        entity_type="quality.lab_test",
        entity_id=test.id,
        action="create",
        new={"batch": test.batch_number, "type": test_type.code, "value": str(value), "passed": passed},
    )
    return test


def get_lab_test(session: Session, *, test_id: int) -> LabTest:
    """One lab test."""
    test = session.get(LabTest, test_id)
    if test is None:
        raise NotFound(f"lab test {test_id} does not exist")
    return test


def list_lab_tests(
    session: Session, *, batch_number: str | None = None, passed: bool | None = None, limit: int, offset: int
) -> tuple[Sequence[LabTest], int]:
    """Lab tests, newest first."""
    stmt = select(LabTest)
    if batch_number is not None:
        stmt = stmt.where(LabTest.batch_number == batch_number)
    if passed is not None:
        stmt = stmt.where(LabTest.passed == passed)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return session.scalars(stmt.order_by(LabTest.id.desc()).limit(limit).offset(offset)).all(), total


@dataclass
class BatchResults:
    """A batch's lab results."""

    batch_number: str
    tests: int
    passed: int
    failed: int
    pass_rate: Decimal | None
    band: str | None
    may_ship: bool
    released: bool
    released_at: datetime | None
    results: Sequence[LabTest]


def batch_results(session: Session, *, batch_number: str) -> BatchResults:
    """Pass rate and band of a batch's lab tests; it may ship at a pass rate of 95 % or more."""
    results = session.scalars(
        select(LabTest).where(LabTest.batch_number == batch_number).order_by(LabTest.id)
    ).all()
    passed = sum(1 for t in results if t.passed)
    rate = percent(passed, len(results)) if results else None
    release = session.scalar(select(BatchRelease).where(BatchRelease.batch_number == batch_number))
    return BatchResults(
        batch_number=batch_number,
        tests=len(results),
        passed=passed,
        failed=len(results) - passed,
        pass_rate=rate,
        band=band(rate) if rate is not None else None,
        may_ship=rate is not None and rate >= GOOD,
        released=release is not None,
        released_at=release.released_at if release is not None else None,
        results=results,
    )


def release_batch(session: Session, *, batch_number: str, actor: Actor) -> BatchResults:
    """QC releases a batch that may ship; emits ``batch_released`` (409 when it may not, or is released)."""
    results = batch_results(session, batch_number=batch_number)
    if results.released:
        raise Conflict(f"batch {batch_number} is released already")
    if not results.may_ship:
        raise Conflict(f"batch {batch_number} may not ship: pass rate {results.pass_rate} (needs {GOOD} %)")
    assert results.pass_rate is not None
    release = BatchRelease(
        batch_number=batch_number,
        pass_rate=results.pass_rate,
        tests=results.tests,
        released_by_id=actor.user_id,
        released_by=actor.username,
        released_at=utcnow(),
    )
    session.add(release)
    session.flush()
    record_change(
        session,
        entity_type="quality.batch_release",
        entity_id=release.id,
        action="create",
        new={"batch": batch_number, "pass_rate": str(results.pass_rate), "tests": results.tests},
    )
    emit(
        session,
        "batch_released",
        BatchReleased(
            batch_number=batch_number,
            pass_rate=str(results.pass_rate),
            tests=results.tests,
            released_by=actor.username,
        ),
        aggregate=f"batch:{batch_number}",
    )
    results.released, results.released_at = True, release.released_at
    return results
