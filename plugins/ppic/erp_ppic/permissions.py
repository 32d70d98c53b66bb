"""The permissions the PPIC plugin declares, with their default role grants."""

from __future__ import annotations

from kernel.rbac import Permission

SO_VIEW = "ppic.so.view"
SO_MANAGE = "ppic.so.manage"
MO_VIEW = "ppic.mo.view"
MO_CREATE = "ppic.mo.create"
MO_RELEASE = "ppic.mo.release"
REPORT_VIEW = "ppic.report.view"
DASHBOARD_VIEW = "ppic.dashboard.view"
ALERT_VIEW = "ppic.alert.view"
ALERT_MANAGE = "ppic.alert.manage"

_PLANNERS = ("PPIC Manager", "PPIC Admin")
_SPV = ("SPV Cutting", "SPV Sewing", "SPV Finishing")
_LEADS = ("Manager", *_PLANNERS, *_SPV)
_VIEW = (
    "Manager",
    *_PLANNERS,
    "Admin",
    "SPV Cutting",
    "SPV Sewing",
    "SPV Finishing",
    "Warehouse Admin",
    "Purchasing Head",
    "Purchasing",
    "Finance Manager",
)

PERMISSIONS = [
    Permission(SO_VIEW, "See sales orders and what is planned and produced of them.", default_roles=_VIEW),
    Permission(SO_MANAGE, "Record, confirm, cancel and complete sales orders.", default_roles=_PLANNERS),
    Permission(MO_VIEW, "See PPIC's MOs and their progress.", default_roles=_VIEW),
    Permission(
        MO_CREATE, "Plan MOs from sales order lines and link their purchase orders.", default_roles=_PLANNERS
    ),
    Permission(
        MO_RELEASE, "Release MOs (partial on fabric, full on label).", default_roles=("PPIC Manager",)
    ),
    Permission(
        REPORT_VIEW,
        "See the weekly production report, material requirements (MRP) and the stored daily reports.",
        default_roles=("Manager", *_PLANNERS, *_SPV, "Purchasing Head", "Purchasing", "Finance Manager"),
    ),
    Permission(
        DASHBOARD_VIEW,
        "See the real-time PPIC dashboard (HTTP and WebSocket).",
        default_roles=(*_LEADS, "Finance Manager", "Warehouse Admin", "QC Lab", "Security"),
    ),
    Permission(
        ALERT_VIEW,
        "See alerts (department roles: their department's).",
        default_roles=(*_LEADS, "QC Lab", "QC Inspector", "Warehouse Admin"),
    ),
    Permission(
        ALERT_MANAGE,
        "Acknowledge and resolve alerts (department roles: their department's).",
        default_roles=("Manager", "PPIC Manager", *_SPV, "QC Lab", "Warehouse Admin"),
    ),
]
