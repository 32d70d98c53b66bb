"""Approval policies: what owning plugins declare, what a site overrides, and the versions stored.

Precedence for a request type: a policy set through the API (stored, versioned) wins until the site file
names the type; ``[plugin.approval.policies."<type>"]`` in ``erp.toml`` wins over both; otherwise the
owning plugin's default applies. Every effective change becomes a new version; pending requests keep
the chain snapshotted when they were submitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from erp_approval.models import ApprovalPolicy, ApprovalPolicyVersion
from kernel.clock import utcnow
from kernel.errors import NotFound, ValidationFailed
from kernel.plugins import PluginError
from kernel.site import Site, site_of

DEPARTMENT_PLACEHOLDER = "{department}"
REGISTRY_CACHE_KEY = "approval.policy_defaults"
MAX_NAME = 100  # role and step names, as stored on request steps


@dataclass(frozen=True)
class Step:
    """One step of a chain: who approves it and when it applies.

    :param role: the role that decides this step (e.g. ``"Manager"``); ``"SPV {department}"`` is
        replaced by the requester's department at submission (``"SPV Sewing"``).
    :param department_scoped: only an approver of the request's department may decide.
    :param min_amount: the step is added only when the request's amount is at least this much.
    :param name: a label shown in the history (defaults to the role).
    """

    role: str
    department_scoped: bool = False
    min_amount: Decimal | None = None
    name: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form stored in a policy version."""
        return {
            "name": self.name or self.role,
            "role": self.role,
            "department_scoped": self.department_scoped,
            "min_amount": None if self.min_amount is None else str(self.min_amount),
        }


@dataclass(frozen=True)
class PolicyDefault:
    """A plugin's default policy for one of its request types (returned by ``erp_approval_policies``)."""

    request_type: str
    steps: Sequence[Step]
    allow_self_approval: bool = False
    description: str = ""


@dataclass(frozen=True)
class DeclaredPolicy:
    """A default policy with the plugin that declared (owns) it."""

    owner_plugin: str
    default: PolicyDefault
    steps: list[dict[str, Any]] = field(default_factory=list)


def parse_steps(raw: Iterable[Mapping[str, Any]], *, where: str) -> list[dict[str, Any]]:
    """Validate a chain given as mappings (API body, ``erp.toml``) into its stored JSON form."""
    steps: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        role = str(item.get("role", "")).strip()
        if not role:
            errors.append({"field": f"{where}[{i}].role", "message": "a step needs a role"})
            continue
        name = str(item.get("name", "")).strip()
        for key, text in (("role", role), ("name", name)):
            if len(text) > MAX_NAME:
                errors.append({"field": f"{where}[{i}].{key}", "message": f"at most {MAX_NAME} characters"})
        unknown = set(item) - {"role", "department_scoped", "min_amount", "name"}
        if unknown:
            errors.append({"field": f"{where}[{i}]", "message": f"unknown keys {sorted(unknown)}"})
        scoped = item.get("department_scoped", False)
        if not isinstance(scoped, bool):
            errors.append({"field": f"{where}[{i}].department_scoped", "message": "must be true or false"})
            scoped = False
        min_amount = item.get("min_amount")
        if min_amount is not None:
            try:
                min_amount = Decimal(str(min_amount))
            except InvalidOperation:
                errors.append({"field": f"{where}[{i}].min_amount", "message": "must be a number"})
                min_amount = None
            else:
                if not min_amount.is_finite() or min_amount < 0:
                    errors.append({"field": f"{where}[{i}].min_amount", "message": "must be >= 0"})
        step = Step(role=role, department_scoped=scoped, min_amount=min_amount, name=name)
        steps.append(step.as_dict())
    if not steps and not errors:
        errors.append({"field": where, "message": "a policy needs at least one step"})
    elif steps and all(s["min_amount"] is not None for s in steps):
        errors.append({"field": where, "message": "at least one step must apply without an amount condition"})
    if errors:
        raise ValidationFailed(f"invalid approval chain in {where}", errors=errors)
    return steps


def declared_policies(site: Site) -> dict[str, DeclaredPolicy]:
    """Every request type declared through ``erp_approval_policies``, computed once per site."""
    cached = site.registry.extra.get(REGISTRY_CACHE_KEY)
    if cached is not None:
        return dict(cached)
    pm = site.registry.pm
    declared: dict[str, DeclaredPolicy] = {}
    impls = sorted(pm.hook.erp_approval_policies.get_hookimpls(), key=lambda impl: impl.plugin_name)
    appliers = {impl.plugin_name for impl in pm.hook.on_approval_decided.get_hookimpls()}
    for impl in impls:
        owner = impl.plugin_name
        if owner not in appliers:
            raise PluginError(
                f"plugin {owner!r} declares approval request types but does not implement "
                "on_approval_decided, so approved changes could never be applied"
            )
        contributed: Iterable[object] = cast("Iterable[object]", impl.function() or [])
        for default in contributed:
            if not isinstance(default, PolicyDefault):
                raise PluginError(
                    f"plugin {owner!r}: erp_approval_policies must return PolicyDefault objects"
                )
            if not default.request_type.startswith(f"{owner}."):
                raise PluginError(
                    f"plugin {owner!r}: approval request type {default.request_type!r} must start with "
                    f"{owner + '.'!r}"
                )
            if default.request_type in declared:
                raise PluginError(
                    f"plugin {owner!r}: approval request type {default.request_type!r} is already declared "
                    f"by plugin {declared[default.request_type].owner_plugin!r}"
                )
            try:
                steps = parse_steps([s.as_dict() for s in default.steps], where=default.request_type)
            except ValidationFailed as exc:
                raise PluginError(f"plugin {owner!r}: {exc.detail}: {exc.errors}") from None
            declared[default.request_type] = DeclaredPolicy(owner, default, steps)
    site.registry.extra[REGISTRY_CACHE_KEY] = declared
    return dict(declared)


def configured_policy(site: Site, request_type: str) -> tuple[list[dict[str, Any]], bool] | None:
    """The chain and self-approval flag the site file sets for a type, or None."""
    raw = site.settings.plugin_settings("approval").get("policies", {}).get(request_type)
    if raw is None:
        return None
    steps = parse_steps(raw.get("steps", []), where=f"[plugin.approval.policies.{request_type!r}]")
    return steps, bool(raw.get("allow_self_approval", False))


def amount_cap(site: Site, request_type: str) -> Decimal | None:
    """The site's cap for a type (``[plugin.approval.amount_caps]``), which replaces every step's
    ``min_amount`` in that type's chain; None when the site sets none."""
    raw = site.settings.plugin_settings("approval").get("amount_caps", {}).get(request_type)
    return None if raw is None else Decimal(str(raw))


def current_version(session: Session, policy: ApprovalPolicy) -> ApprovalPolicyVersion:
    """The policy's version in force."""
    version = session.scalar(
        select(ApprovalPolicyVersion).where(
            ApprovalPolicyVersion.policy_id == policy.id,
            ApprovalPolicyVersion.version == policy.current_version,
        )
    )
    if version is None:  # the schema makes this impossible unless rows were deleted by hand
        raise RuntimeError(
            f"approval policy {policy.request_type!r} lost its version {policy.current_version}"
        )
    return version


def _add_version(
    session: Session,
    policy: ApprovalPolicy,
    *,
    steps: list[dict[str, Any]],
    allow_self_approval: bool,
    source: str,
    changed_by: int | None,
) -> ApprovalPolicyVersion:
    policy.current_version += 1
    policy.updated_at = utcnow()
    version = ApprovalPolicyVersion(
        policy_id=policy.id,
        version=policy.current_version,
        steps=steps,
        allow_self_approval=allow_self_approval,
        source=source,
        changed_by=changed_by,
    )
    session.add(version)
    session.flush()
    return version


def _locked(session: Session, request_type: str) -> ApprovalPolicy | None:
    return session.scalar(
        select(ApprovalPolicy)
        .where(ApprovalPolicy.request_type == request_type)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def effective_policy(session: Session, *, request_type: str) -> tuple[ApprovalPolicy, ApprovalPolicyVersion]:
    """The stored policy of a declared type and its version in force, synced with config and default.

    Raises NotFound for a type no enabled plugin declares.
    """
    site = site_of(session)
    declared = declared_policies(site).get(request_type)
    if declared is None:
        raise NotFound(f"no enabled plugin declares the approval request type {request_type!r}")
    configured = configured_policy(site, request_type)
    wanted = configured or (declared.steps, declared.default.allow_self_approval)
    wanted_source = "config" if configured else "default"

    policy = session.scalar(select(ApprovalPolicy).where(ApprovalPolicy.request_type == request_type))
    if policy is None:
        policy = _create(session, declared, wanted, wanted_source)
    version = current_version(session, policy)
    if _needs_new_version(version, wanted, wanted_source):
        policy = _locked(session, request_type)
        assert policy is not None
        version = current_version(session, policy)
        if _needs_new_version(version, wanted, wanted_source):
            version = _add_version(
                session,
                policy,
                steps=wanted[0],
                allow_self_approval=wanted[1],
                source=wanted_source,
                changed_by=None,
            )
    return policy, version


def _needs_new_version(
    version: ApprovalPolicyVersion, wanted: tuple[list[dict[str, Any]], bool], wanted_source: str
) -> bool:
    if version.source == "api" and wanted_source == "default":
        return False  # an administrator's change stands until the site file takes over
    return (version.steps, version.allow_self_approval) != wanted or version.source != wanted_source


def _create(
    session: Session,
    declared: DeclaredPolicy,
    wanted: tuple[list[dict[str, Any]], bool],
    source: str,
) -> ApprovalPolicy:
    request_type = declared.default.request_type
    try:
        with session.begin_nested():
            policy = ApprovalPolicy(
                request_type=request_type,
                owner_plugin=declared.owner_plugin,
                description=declared.default.description,
                current_version=0,
            )
            session.add(policy)
            session.flush()
            _add_version(
                session,
                policy,
                steps=wanted[0],
                allow_self_approval=wanted[1],
                source=source,
                changed_by=None,
            )
    except IntegrityError:
        # Another transaction created it first; use theirs.
        existing = _locked(session, request_type)
        assert existing is not None
        return existing
    return policy


def list_policies(session: Session) -> list[tuple[ApprovalPolicy, ApprovalPolicyVersion]]:
    """Every declared policy with its version in force, ordered by request type."""
    site = site_of(session)
    return [effective_policy(session, request_type=t) for t in sorted(declared_policies(site))]


def update_policy(
    session: Session,
    *,
    request_type: str,
    steps: Iterable[Mapping[str, Any]],
    allow_self_approval: bool,
    changed_by: int,
) -> tuple[ApprovalPolicy, ApprovalPolicyVersion]:
    """Set a new chain for a type (a new version; pending requests keep theirs).

    Raises NotFound for an undeclared type, ValidationFailed for a bad chain, Conflict when the site
    file fixes this type's policy.
    """
    from kernel.errors import Conflict

    _, version = effective_policy(session, request_type=request_type)
    if version.source == "config":
        raise Conflict(
            f"the policy of {request_type!r} is set in the site file ([plugin.approval.policies]); "
            "change it there"
        )
    parsed = parse_steps(steps, where="steps")
    locked = _locked(session, request_type)
    assert locked is not None
    new = _add_version(
        session,
        locked,
        steps=parsed,
        allow_self_approval=allow_self_approval,
        source="api",
        changed_by=changed_by,
    )
    return locked, new


def chain_for(
    session: Session,
    version: ApprovalPolicyVersion,
    *,
    request_type: str,
    amount: Decimal | None,
    department: str | None,
) -> list[dict[str, Any]]:
    """The concrete steps a request gets: conditional steps filtered by amount, roles made concrete."""
    cap = amount_cap(site_of(session), request_type)
    chain = []
    for step in version.steps:
        threshold = step["min_amount"]
        if threshold is not None:
            limit = cap if cap is not None else Decimal(threshold)
            if amount is None or amount < limit:
                continue
        role = step["role"]
        if DEPARTMENT_PLACEHOLDER in role or step["department_scoped"]:
            if not department:
                raise ValidationFailed(
                    f"approval request type {request_type!r} routes to the requester's department, "
                    "but no requester_department was given",
                    errors=[{"field": "requester_department", "message": "required for this request type"}],
                )
            role = role.replace(DEPARTMENT_PLACEHOLDER, department)
        chain.append({"name": step["name"], "role": role, "department_scoped": step["department_scoped"]})
    return chain
