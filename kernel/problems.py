"""One error shape for the whole API: ``application/problem+json`` (RFC 9457).

``{type, title, status, detail, instance, request_id, errors?}``; validation errors list each field as
``{field, message, type}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel.errors import ErpError
from kernel.idempotency import IdempotentReplay
from kernel.logs import request_id_var

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://erp.local/problems/"
log = logging.getLogger("kernel.errors")


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    request: Request | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
    rid = request_id_var.get()
    if rid:
        body["request_id"] = rid
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        # Drop the "body"/"query" origin for readability, keep it as `in`.
        origin = loc[0] if loc else ""
        field = ".".join(loc[1:]) if len(loc) > 1 else origin
        out.append({"field": field, "in": origin, "message": err.get("msg", ""), "type": err.get("type", "")})
    return out


_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Request entity too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-failed", "Validation failed"),
    429: ("too-many-requests", "Too many requests"),
    503: ("service-unavailable", "Service unavailable"),
}


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error raised while handling a request to the one problem shape."""

    @app.exception_handler(ErpError)
    async def _erp_error(request: Request, exc: ErpError) -> JSONResponse:
        headers = exc.extra.pop("headers", None)
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            slug=exc.type_slug,
            request=request,
            errors=exc.errors,
            headers=headers,
            **exc.extra,
        )

    @app.exception_handler(IdempotentReplay)
    async def _replay(request: Request, exc: IdempotentReplay) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status_code, headers={"Idempotency-Replayed": "true"})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        fields = ", ".join(sorted({e["field"] or e["in"] for e in errors}))
        return problem_response(
            422,
            "Validation failed",
            f"invalid input: {fields}",
            slug="validation-failed",
            request=request,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _STATUS_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(
            exc.status_code, title, detail, slug=slug, request=request, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(
            500,
            "Internal server error",
            "an unexpected error occurred; it has been logged",
            slug="internal",
            request=request,
        )
