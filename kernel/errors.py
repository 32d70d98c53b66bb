"""Domain errors that services raise and the HTTP layer turns into ``application/problem+json``.

Services never import FastAPI; they raise these, and ``kernel.problems`` maps them to responses.
"""

from __future__ import annotations

from typing import Any


class ErpError(Exception):
    """Base of every error a client should see with a 4xx status."""

    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class NotFound(ErpError):
    """The addressed entity does not exist (or is invisible to the caller)."""

    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(ErpError):
    """The request is valid but the current state forbids it (invalid transition, stock shortage...)."""

    status = 409
    title = "Conflict"
    type_slug = "conflict"


class ValidationFailed(ErpError):
    """Business validation failed; ``errors`` names the fields."""

    status = 422
    title = "Validation failed"
    type_slug = "validation-failed"


class Unauthorized(ErpError):
    """No valid credentials."""

    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class PermissionDenied(ErpError):
    """Authenticated, but not allowed to do this."""

    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class TooManyRequests(ErpError):
    """Throttled; retry later."""

    status = 429
    title = "Too many requests"
    type_slug = "too-many-requests"


class ServiceUnavailable(ErpError):
    """A dependency (database, Redis, broker) is not reachable."""

    status = 503
    title = "Service unavailable"
    type_slug = "service-unavailable"
