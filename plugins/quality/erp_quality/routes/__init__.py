"""The quality API, mounted by the kernel under ``/api/v1/quality``. Routes parse, check the permission,
call one service function and shape the response. Writes take the permission guard before
``IdempotencyDep`` (keys are scoped to the signed-in user)."""

from __future__ import annotations

from erp_quality.routes import defects, inspections, lab, reports, segregation

routers = [defects.router, inspections.router, lab.router, segregation.router, reports.router]
