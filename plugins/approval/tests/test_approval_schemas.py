"""Decision bodies cannot carry a step, level or role, and a rejection needs a real note."""

from __future__ import annotations

import pytest
from approval_testkit import ADMIN_SEWING, SPV_SEWING, decide_as, submit_as
from erp_approval import service
from erp_approval.schemas import ApproveIn, HistoryOut, HistoryStepOut, RejectIn, RequestOut
from pydantic import ValidationError

from kernel.site import Site


@pytest.mark.parametrize("extra", [{"step": 2}, {"level": 2}, {"role": "Manager"}, {"approver_id": 5}])
def test_a_decision_body_cannot_choose_step_or_role(extra: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ApproveIn.model_validate({"note": "ok", **extra})
    with pytest.raises(ValidationError):
        RejectIn.model_validate({"note": "no", **extra})


@pytest.mark.parametrize("note", ["", "   "])
def test_a_rejection_needs_a_note(note: str) -> None:
    with pytest.raises(ValidationError):
        RejectIn.model_validate({"note": note})
    assert ApproveIn.model_validate({}).note == ""


def test_history_body_names_who_decided_each_step(site: Site) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    decide_as(site, SPV_SEWING, request_id, note="fine")
    with site.sessions() as session:
        request = service.get_request(session, request_id=request_id)
        body = HistoryOut(
            request=RequestOut.of(request),
            steps=[HistoryStepOut.of(e) for e in service.history(session, request=request)],
        ).model_dump(mode="json")
    assert body["request"]["current_role"] == "Manager"
    first, second = body["steps"]
    assert (first["approver_id"], first["role"], first["decision"], first["note"]) == (
        2,
        "SPV Sewing",
        "approve",
        "fine",
    )
    assert first["verified"] is True and len(first["signature"]) == 64 and first["decided_at"].endswith("Z")
    assert (second["state"], second["approver_id"], second["verified"]) == ("current", None, None)
