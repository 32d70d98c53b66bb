"""Lab routes: test types, test results, batch results and release."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from erp_quality import lab
from erp_quality import permissions as perm
from erp_quality.routes.common import actor_of
from erp_quality.schemas import (
    BatchResultsOut,
    LabTestIn,
    LabTestOut,
    LabTestTypeIn,
    LabTestTypeOut,
    LabTestTypePatch,
)
from kernel.deps import SessionDep
from kernel.idempotency import IdempotencyDep
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/lab", tags=["quality"])
View = Annotated[Principal, Depends(require(perm.LAB_VIEW))]
BatchPath = Annotated[str, Path(min_length=1, max_length=60)]


def _results(r: lab.BatchResults) -> BatchResultsOut:
    return BatchResultsOut(
        batch_number=r.batch_number,
        tests=r.tests,
        passed=r.passed,
        failed=r.failed,
        pass_rate=r.pass_rate,
        band=r.band,  # type: ignore[arg-type]
        may_ship=r.may_ship,
        released=r.released,
        released_at=r.released_at,
        results=[LabTestOut.model_validate(t) for t in r.results],
    )


@router.get("/test-types", response_model=list[LabTestTypeOut])
def list_test_types(session: SessionDep, principal: View, active: bool | None = None) -> list[LabTestTypeOut]:
    """The configured lab tests with their limits."""
    return [LabTestTypeOut.model_validate(t) for t in lab.list_test_types(session, active=active)]


@router.post("/test-types", status_code=201, response_model=LabTestTypeOut)
def create_test_type(
    body: LabTestTypeIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.LAB_MANAGE))],
    idem: IdempotencyDep,
) -> LabTestTypeOut:
    """Configure a lab test (unit, standard, min and/or max limit)."""
    return idem.remember(
        LabTestTypeOut.model_validate(lab.create_test_type(session, data=body)), status_code=201
    )


@router.patch("/test-types/{test_type_id}", response_model=LabTestTypeOut)
def update_test_type(
    test_type_id: int,
    body: LabTestTypePatch,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.LAB_MANAGE))],
) -> LabTestTypeOut:
    """Change a lab test's limits or standard (recorded tests keep theirs)."""
    return LabTestTypeOut.model_validate(lab.update_test_type(session, test_type_id=test_type_id, data=body))


@router.post("/test", status_code=201, response_model=LabTestOut)
def record_test(
    body: LabTestIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.LAB_CREATE))],
    idem: IdempotencyDep,
) -> LabTestOut:
    """Record a lab test of a batch; pass/fail against the configured limit (a failure needs
    ``evidence_ref``). Safe to retry with an Idempotency-Key."""
    test = lab.record_lab_test(session, data=body, actor=actor_of(principal, perm.LAB_CREATE))
    return idem.remember(LabTestOut.model_validate(test), status_code=201)


@router.get("/tests", response_model=Page[LabTestOut])
def list_tests(
    session: SessionDep,
    page: PageDep,
    principal: View,
    batch_number: Annotated[str | None, Query(max_length=60)] = None,
    passed: bool | None = None,
) -> Page[LabTestOut]:
    """Lab tests, newest first."""
    rows, total = lab.list_lab_tests(
        session, batch_number=batch_number, passed=passed, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[LabTestOut.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/tests/{test_id}", response_model=LabTestOut)
def get_test(test_id: int, session: SessionDep, principal: View) -> LabTestOut:
    """One lab test."""
    return LabTestOut.model_validate(lab.get_lab_test(session, test_id=test_id))


@router.get("/results/{batch}", response_model=BatchResultsOut)
def batch_results(batch: BatchPath, session: SessionDep, principal: View) -> BatchResultsOut:
    """A batch's results: pass rate, band (good >= 95 %, warning >= 85 %, else critical), may it ship."""
    return _results(lab.batch_results(session, batch_number=batch))


@router.post("/results/{batch}/release", response_model=BatchResultsOut)
def release_batch(
    batch: BatchPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(perm.LAB_RELEASE))],
    idem: IdempotencyDep,
) -> BatchResultsOut:
    """QC approval: release a batch that may ship (emits ``batch_released``)."""
    results = lab.release_batch(session, batch_number=batch, actor=actor_of(principal, perm.LAB_RELEASE))
    return idem.remember(_results(results))
