"""``GET /api/v1/audit/logs``: the audit trail, filtered and paginated, or exported as CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from kernel.audit import service
from kernel.audit.models import AuditLog
from kernel.deps import SessionDep, SiteDep
from kernel.errors import ValidationFailed
from kernel.pagination import Page, PageDep
from kernel.rbac import Principal, require

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditLogOut(BaseModel):
    """One audit row."""

    id: int
    chain: int
    seq: int
    at: datetime
    action: str
    status: int | None
    request_id: str | None
    user_id: int | None
    username: str | None
    roles: list[str]
    client_address: str | None
    method: str | None
    path: str | None
    entity_type: str | None
    entity_id: str | None
    old: Any
    new: Any
    detail: Any
    hash: str

    @classmethod
    def of(cls, row: AuditLog) -> AuditLogOut:
        """Build from a stored row (JSON columns decoded)."""
        return cls(
            id=row.id,
            chain=row.chain,
            seq=row.seq,
            at=row.at,
            action=row.action,
            status=row.status,
            request_id=row.request_id,
            user_id=row.user_id,
            username=row.username,
            roles=service.parse_json(row.roles) or [],
            client_address=row.client_address,
            method=row.method,
            path=row.path,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            old=service.parse_json(row.old),
            new=service.parse_json(row.new),
            detail=service.parse_json(row.detail),
            hash=row.hash,
        )


@router.get(
    "/logs",
    response_model=Page[AuditLogOut],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON page, or CSV (format=csv)"}},
)
def list_logs(
    principal: Annotated[Principal, Depends(require("kernel.audit.view"))],
    site: SiteDep,
    session: SessionDep,
    page: PageDep,
    user_id: int | None = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
    entity_type: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Audit rows, newest first; ``format=csv`` streams every matching row (oldest first) instead."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(
                f"{name} needs a time zone (e.g. 2026-01-31T00:00:00Z)",
                errors=[{"field": name, "message": "naive datetime", "type": "timezone"}],
            )
    filters = service.AuditFilter(user_id, username, entity_type, entity_id, action, since, until)
    if format == "csv":
        return StreamingResponse(
            service.export_csv(site.sessions, filters=filters),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    rows, total = service.list_logs(session, filters=filters, limit=page.limit, offset=page.offset)
    return Page(items=[AuditLogOut.of(r) for r in rows], total=total, limit=page.limit, offset=page.offset)
