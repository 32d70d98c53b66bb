"""Signatures of approval decisions: HMAC-SHA256 over a canonical JSON form.

The key is derived from the site secret (``settings.secret_key``) with a context label, so it is never
stored in the database: someone who can edit rows cannot forge a signature. Rotating the site secret
makes earlier signatures unverifiable; ``key_id`` on each decision says which key signed it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from erp_approval.models import ApprovalDecision, ApprovalRequest

CONTEXT = b"approval-signature-v1"


@dataclass(frozen=True)
class SigningKey:
    """The decision-signing key of a site and its public identifier."""

    key: bytes
    key_id: str

    @classmethod
    def from_secret(cls, secret: str) -> SigningKey:
        """Derive the key from the site secret (HMAC-SHA256 keyed by the secret over the context label)."""
        key = hmac.new(secret.encode(), CONTEXT, hashlib.sha256).digest()
        return cls(key=key, key_id="hmac-sha256:" + hashlib.sha256(key).hexdigest()[:16])


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def format_amount(amount: Decimal | None) -> str | None:
    """The amount as it is hashed: two decimals, or None."""
    return None if amount is None else f"{amount:.2f}"


def iso_utc(moment: datetime) -> str:
    """A timestamp in ISO 8601, UTC, microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def payload_hash(
    *,
    request_type: str,
    subject_plugin: str,
    subject_entity: str,
    subject_id: str,
    payload: dict[str, Any],
    amount: Decimal | None,
    requested_by: int,
) -> str:
    """SHA-256 of what was asked: type, subject, payload, amount and requester."""
    body = {
        "request_type": request_type,
        "subject": [subject_plugin, subject_entity, subject_id],
        "payload": payload,
        "amount": format_amount(amount),
        "requested_by": requested_by,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def request_payload_hash(request: ApprovalRequest) -> str:
    """Recompute the payload hash of a stored request (differs from the stored one if it was edited)."""
    return payload_hash(
        request_type=request.request_type,
        subject_plugin=request.subject_plugin,
        subject_entity=request.subject_entity,
        subject_id=request.subject_id,
        payload=request.payload,
        amount=request.amount,
        requested_by=request.requested_by,
    )


def decision_message(decision: ApprovalDecision) -> bytes:
    """The canonical bytes a decision's signature covers."""
    return canonical_json(
        {
            "request_id": decision.request_id,
            "step": decision.step,
            "decision": decision.decision,
            "approver_id": decision.approver_id,
            "role": decision.role,
            "note": decision.note,
            "decided_at": iso_utc(decision.decided_at),
            "payload_hash": decision.payload_hash,
        }
    )


def sign(key: SigningKey, decision: ApprovalDecision) -> None:
    """Fill ``key_id`` and ``signature`` of a decision whose other fields are set."""
    decision.key_id = key.key_id
    decision.signature = hmac.new(key.key, decision_message(decision), hashlib.sha256).hexdigest()


def verify(key: SigningKey, decision: ApprovalDecision, request: ApprovalRequest) -> bool:
    """True when the decision's signature is valid and it covers the request as stored now."""
    if decision.key_id != key.key_id or decision.request_id != request.id:
        return False
    expected = hmac.new(key.key, decision_message(decision), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, decision.signature) and hmac.compare_digest(
        decision.payload_hash, request_payload_hash(request)
    )
