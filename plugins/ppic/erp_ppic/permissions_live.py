"""Permissions of the dashboard, the alerts and the daily reports, with their default role grants."""

from __future__ import annotations

from kernel.rbac import Permission

_SPV = ("SPV Cutting", "SPV Sewing", "SPV Finishing")
_LEADS = ("Manager", "PPIC Manager", "PPIC Admin", *_SPV)

PERMISSIONS = [
    Permission(
        "ppic.dashboard.view",
        "See the real-time PPIC dashboard (HTTP and WebSocket).",
        default_roles=(*_LEADS, "Finance Manager", "Warehouse Admin", "QC Lab", "Security"),
    ),
    Permission(
        "ppic.alert.view",
        "See alerts (department roles: their department's).",
        default_roles=(*_LEADS, "QC Lab", "QC Inspector", "Warehouse Admin"),
    ),
    Permission(
        "ppic.alert.manage",
        "Acknowledge and resolve alerts (department roles: their department's).",
        default_roles=("Manager", "PPIC Manager", *_SPV, "QC Lab", "Warehouse Admin"),
    ),
    Permission(
        "ppic.report.view",
        "See PPIC reports (the stored daily reports).",
        default_roles=(*_LEADS, "Finance Manager"),
    ),
]
