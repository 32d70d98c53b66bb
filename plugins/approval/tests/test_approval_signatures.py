"""Signed decisions: the history reports whether each signature verifies, and the consistency checks
behind ``erp check`` find tampered decision rows, tampered requests and edited states."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from approval_testkit import ADMIN_SEWING, MANAGER, SPV_SEWING, decide_as, submit_as, tamper
from erp_approval import service
from erp_approval.checks import decision_signatures_verify, request_states_match_decisions
from erp_approval.signing import SigningKey, decision_message
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kernel.site import Site


def _history(site: Site, request_id: int) -> list[tuple[int, str, bool | None]]:
    with site.sessions() as session:
        request = service.get_request(session, request_id=request_id)
        return [(e.step, e.state, e.verified) for e in service.history(session, request=request)]


def _violations(site: Site) -> list[str]:
    with site.sessions() as session:
        return [*decision_signatures_verify(session), *request_states_match_decisions(session)]


def test_decisions_are_signed_and_verify(site: Site) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    decision = decide_as(site, SPV_SEWING, request_id, note="ok")
    assert decision.key_id == SigningKey.from_secret(site.settings.secret_key).key_id
    assert len(decision.signature) == 64
    message = decision_message(decision).decode()
    for part in (f'"request_id":{request_id}', '"step":1', '"decision":"approve"', '"role":"SPV Sewing"'):
        assert part in message
    assert _history(site, request_id) == [(1, "approved", True), (2, "current", None)]
    decide_as(site, MANAGER, request_id)
    assert _history(site, request_id) == [(1, "approved", True), (2, "approved", True)]
    assert _violations(site) == []


def test_a_tampered_decision_row_is_reported_by_the_signature_check(site: Site) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    decide_as(site, SPV_SEWING, request_id, "reject", note="quantity too low")
    # Someone with database access turns the rejection into an approval.
    tamper(
        site,
        "UPDATE approval_decision SET decision = 'approve', note = '' WHERE request_id = :r",
        r=request_id,
    )
    assert _history(site, request_id)[0] == (1, "approved", False)
    found = _violations(site)
    assert any(f"approval request {request_id} step 1: the signature" in m for m in found)


def test_a_tampered_request_payload_invalidates_its_signatures(site: Site) -> None:
    request_id = submit_as(site, ADMIN_SEWING, payload={"quantity": {"old": 500, "new": 450}})
    decide_as(site, SPV_SEWING, request_id)
    decide_as(site, MANAGER, request_id)
    with site.engine.begin() as conn:
        conn.execute(
            text("UPDATE approval_request SET payload = :p WHERE id = :r"),
            {"p": '{"quantity": {"old": 500, "new": 5000}}', "r": request_id},
        )
    assert [v for _, _, v in _history(site, request_id)] == [False, False]
    assert len([m for m in _violations(site) if "does not verify" in m]) == 2


def test_signatures_from_another_site_secret_do_not_verify(approval_site) -> None:
    site = approval_site()
    request_id = submit_as(site, ADMIN_SEWING)
    decide_as(site, SPV_SEWING, request_id)
    other = approval_site(secret_key="another-site-secret-" + "y" * 32)
    assert _history(other, request_id) == [(1, "approved", False), (2, "current", None)]


def test_an_edited_request_state_is_reported(site: Site) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    decide_as(site, SPV_SEWING, request_id)
    with site.engine.begin() as conn:  # marked approved without the Manager's signed approval
        conn.execute(
            text("UPDATE approval_request SET status = 'approved', current_step = NULL WHERE id = :r"),
            {"r": request_id},
        )
    assert _violations(site) == [
        f"approval request {request_id} is approved but not every step has a signed approval"
    ]


def test_erp_check_verifies_every_signature(site: Site, tmp_path: Path) -> None:
    checks = [
        c for plugin, cs in site.registry.collect("erp_checks") if plugin.name == "approval" for c in cs
    ]
    assert [c.__name__ for c in checks] == ["decision_signatures_verify", "request_states_match_decisions"]
    request_id = submit_as(site, ADMIN_SEWING)
    decide_as(site, SPV_SEWING, request_id)

    def erp_check() -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ERP_")}
        env.update(
            ERP_DATABASE_URL=site.settings.database_url,
            ERP_SECRET_KEY=site.settings.secret_key,
            ERP_PLUGINS='["approval"]',
            ERP_DATA_DIR=str(tmp_path),
            ERP_LOG_JSON="false",
        )
        erp = str(Path(sys.executable).parent / "erp")
        return subprocess.run(
            [erp, "check"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )

    passed = erp_check()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "[approval] decision_signatures_verify: ok" in passed.stdout

    tamper(site, "UPDATE approval_decision SET approver_id = 99 WHERE request_id = :r", r=request_id)
    failed = erp_check()
    assert failed.returncode == 1
    assert "[approval] decision_signatures_verify: 1 violation(s)" in failed.stdout
    assert f"approval request {request_id} step 1: the signature" in failed.stdout


@pytest.mark.parametrize(
    "statement", ["UPDATE approval_decision SET note = 'edited'", "DELETE FROM approval_decision"]
)
def test_the_database_refuses_to_change_a_decision(site: Site, statement: str) -> None:
    request_id = submit_as(site, ADMIN_SEWING)
    decide_as(site, SPV_SEWING, request_id, note="ok")
    with pytest.raises(DBAPIError, match="append-only"), site.engine.begin() as conn:
        conn.execute(text(statement))
    assert _history(site, request_id)[0] == (1, "approved", True)
