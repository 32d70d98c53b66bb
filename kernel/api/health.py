"""``/health/live`` and ``/health/ready`` for load balancers and orchestrators (public)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from kernel.deps import SiteDep
from kernel.site import Site

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="Liveness")
def live() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


def _check_database(site: Site) -> str:
    with site.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return "ok"


def readiness_checks(site: Site) -> dict[str, Any]:
    """Run each dependency check; returns {name: "ok" | "error: ..."}."""
    checks = {"database": _check_database, **site.services.get("readiness", {})}
    results: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            results[name] = check(site)
        except Exception as exc:
            results[name] = f"error: {type(exc).__name__}: {exc}".splitlines()[0][:200]
    return results


@router.get("/ready", summary="Readiness", responses={503: {"description": "a dependency is down"}})
def ready(site: SiteDep) -> JSONResponse:
    """Ready to serve: the database (and Redis and the broker, when configured) answer."""
    results = readiness_checks(site)
    ok = all(v == "ok" for v in results.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": results}, status_code=200 if ok else 503
    )
