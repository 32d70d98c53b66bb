"""The warehouse API, mounted by the kernel under ``/api/v1/warehouse``.

Routes parse, check the permission, call one service function and shape the response; services raise
``kernel.errors``, which the kernel turns into ``application/problem+json``. Writes that clients retry
take the permission guard first and then ``IdempotencyDep`` (keys are scoped to the signed-in user).
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every router of the plugin (fixed paths are declared before ``/{id}`` paths in each)."""
    from erp_warehouse.routes import masterdata, purchasing, reports, stock, transfers

    return [stock.router, transfers.router, purchasing.router, reports.router, masterdata.router]
