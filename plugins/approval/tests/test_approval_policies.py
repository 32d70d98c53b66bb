"""Policies: declared by owning plugins (erp_approval_policies), versioned when changed through the service
or the site file, and snapshotted on each request so a pending request keeps its chain."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from approval_testkit import (
    ADMIN_SEWING,
    FINANCE,
    MANAGER,
    MATERIAL_DEBT,
    SPK_EDIT,
    SPV_SEWING,
    applied_count,
    decide_as,
    status_of,
    submit_as,
)
from erp_approval import policies, service
from erp_approval.models import ApprovalPolicyVersion
from erp_approval.policies import PolicyDefault, Step
from sqlalchemy import select

from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.plugins import PluginError, hookimpl
from kernel.site import Site

THREE_STEPS = [
    {"role": "SPV {department}", "department_scoped": True, "name": "SPV"},
    {"role": "Manager"},
    {"role": "Finance Manager"},
]


def _update(site: Site, request_type: str, steps: list[dict[str, object]], **kwargs: object) -> int:
    with site.sessions.begin() as session:
        _, version = policies.update_policy(
            session,
            request_type=request_type,
            steps=steps,
            allow_self_approval=bool(kwargs.get("allow_self_approval", False)),
            changed_by=MANAGER.id,
        )
        return version.version


def test_erp_approval_policies_declares_the_default_chains(site: Site) -> None:
    with site.sessions.begin() as session:
        listed = policies.list_policies(session)
    assert [(p.request_type, p.owner_plugin, v.version, v.source) for p, v in listed] == [
        (MATERIAL_DEBT, "testowner", 1, "default"),
        (SPK_EDIT, "testowner", 1, "default"),
    ]
    spk = dict((p.request_type, v) for p, v in listed)[SPK_EDIT]
    assert spk.steps == [
        {"name": "SPV", "role": "SPV {department}", "department_scoped": True, "min_amount": None},
        {"name": "Manager", "role": "Manager", "department_scoped": False, "min_amount": None},
    ]
    assert spk.allow_self_approval is False


def test_erp_approval_policies_rejects_a_type_outside_the_plugins_namespace(make_site) -> None:
    class Squatter:
        @hookimpl
        def erp_approval_policies(self) -> Sequence[PolicyDefault]:
            return [PolicyDefault("warehouse.po.approve", steps=[Step(role="Purchasing Head")])]

        @hookimpl
        def on_approval_decided(self, session, request, decision) -> None:
            return None

    site = make_site(["approval"])
    site.registry.pm.register(Squatter(), name="squatter")
    with site.sessions() as session, pytest.raises(PluginError, match=r"must start with 'squatter\.'"):
        policies.list_policies(session)


def test_policy_change_while_pending_keeps_the_chain_the_request_started_with(site: Site) -> None:
    pending = submit_as(site, ADMIN_SEWING, subject_id=1)
    assert _update(site, SPK_EDIT, THREE_STEPS) == 2
    later = submit_as(site, ADMIN_SEWING, subject_id=2)

    decide_as(site, SPV_SEWING, pending)
    decide_as(site, MANAGER, pending)
    assert status_of(site, pending)[0] == "approved"  # two steps, as when it was submitted
    assert applied_count(site) == 1

    decide_as(site, SPV_SEWING, later)
    decide_as(site, MANAGER, later)
    assert status_of(site, later) == ("pending", 3, 2)
    decide_as(site, FINANCE, later)
    assert status_of(site, later)[0] == "approved"
    with site.sessions() as session:
        versions = session.scalars(select(ApprovalPolicyVersion.version).order_by(ApprovalPolicyVersion.id))
        assert list(versions) == [1, 2]  # the old version is kept, not overwritten


def test_policy_update_can_allow_self_approval(site: Site) -> None:
    _update(
        site, SPK_EDIT, [{"role": "SPV {department}", "department_scoped": True}], allow_self_approval=True
    )
    request_id = submit_as(site, SPV_SEWING)
    decide_as(site, SPV_SEWING, request_id)
    assert status_of(site, request_id)[0] == "approved"


def test_policy_update_refuses_bad_chains(site: Site) -> None:
    with pytest.raises(ValidationFailed) as empty:
        _update(site, SPK_EDIT, [])
    assert empty.value.errors[0]["message"] == "a policy needs at least one step"
    with pytest.raises(ValidationFailed):
        _update(site, SPK_EDIT, [{"role": " "}])
    with pytest.raises(ValidationFailed):
        _update(site, SPK_EDIT, [{"role": "Manager", "min_amount": "lots"}])
    with pytest.raises(ValidationFailed):
        _update(site, SPK_EDIT, [{"role": "Manager", "min_amount": 10}])  # nothing applies below 10
    with pytest.raises(ValidationFailed):
        _update(site, SPK_EDIT, [{"role": "Manager", "level": 1}])
    with pytest.raises(ValidationFailed):
        _update(site, SPK_EDIT, [{"role": "M" * 101}])
    with pytest.raises(NotFound):
        _update(site, "testowner.nothing", [{"role": "Manager"}])


def test_site_file_policy_wins_and_is_versioned(approval_site) -> None:
    config = {"approval": {"policies": {SPK_EDIT: {"steps": [{"role": "Manager"}]}}}}
    site = approval_site(plugin=config)
    request_id = submit_as(site, ADMIN_SEWING)
    with site.sessions() as session:
        assert [s.role for s in service.get_request(session, request_id=request_id).steps] == ["Manager"]
    with pytest.raises(Conflict, match="site file"):
        _update(site, SPK_EDIT, THREE_STEPS)
    # The site file no longer names the type: the plugin's default comes back as a new version.
    plain = approval_site()
    with plain.sessions.begin() as session:
        _, version = policies.effective_policy(session, request_type=SPK_EDIT)
        assert (version.version, version.source) == (2, "default")
