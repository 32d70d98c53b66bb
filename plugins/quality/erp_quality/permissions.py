"""The permissions of the quality plugin and their default grants (DOMAIN.md: QC Inspector inspects;
QC Lab runs lab tests and QC approvals; department SPVs and admins see their own department's quality)."""

from __future__ import annotations

from kernel.rbac import Permission

DEPARTMENT_SPVS = ("SPV Cutting", "SPV Sewing", "SPV Finishing")
DEPARTMENT_ADMINS = ("Admin Cutting", "Admin Embroidery", "Admin Sewing", "Admin Finishing", "Admin Packing")
OVERSIGHT = ("Manager", "PPIC Manager", "PPIC Admin")
QC = ("QC Inspector", "QC Lab")

CATEGORY_VIEW = "quality.defect_category.view"
CATEGORY_MANAGE = "quality.defect_category.manage"
INSPECTION_VIEW = "quality.inspection.view"
INSPECTION_CREATE = "quality.inspection.create"
LAB_VIEW = "quality.lab.view"
LAB_CREATE = "quality.lab.create"
LAB_MANAGE = "quality.lab.manage"
LAB_RELEASE = "quality.lab.release"
SEGREGATION_VIEW = "quality.segregation.view"
SEGREGATION_CREATE = "quality.segregation.create"
SEGREGATION_ACKNOWLEDGE = "quality.segregation.acknowledge"
SEGREGATION_RESOLVE = "quality.segregation.resolve"
REPORT_VIEW = "quality.report.view"

PERMISSIONS = [
    Permission(
        CATEGORY_VIEW,
        "See the defect categories.",
        default_roles=(*QC, *OVERSIGHT, *DEPARTMENT_SPVS, *DEPARTMENT_ADMINS),
    ),
    Permission(CATEGORY_MANAGE, "Create, change and delete defect categories.", default_roles=("QC Lab",)),
    Permission(
        INSPECTION_VIEW,
        "See inspections (department-scoped roles: their department's only).",
        default_roles=(*QC, *OVERSIGHT, *DEPARTMENT_SPVS, *DEPARTMENT_ADMINS),
    ),
    Permission(INSPECTION_CREATE, "Record inline inspections and complete final ones.", default_roles=QC),
    Permission(
        LAB_VIEW,
        "See lab tests and batch results (whether a batch may ship).",
        default_roles=(*QC, *OVERSIGHT, "Warehouse Admin", "Admin Packing"),
    ),
    Permission(LAB_CREATE, "Record lab test results.", default_roles=("QC Lab",)),
    Permission(LAB_MANAGE, "Configure lab test types and their limits.", default_roles=("QC Lab",)),
    Permission(LAB_RELEASE, "Release a batch for shipping (QC approval).", default_roles=("QC Lab",)),
    Permission(
        SEGREGATION_VIEW,
        "See segregated units (department-scoped roles: their department's only).",
        default_roles=(*QC, *OVERSIGHT, *DEPARTMENT_SPVS, *DEPARTMENT_ADMINS, "Warehouse Admin"),
    ),
    Permission(SEGREGATION_CREATE, "Move failed or suspect units to quarantine.", default_roles=QC),
    Permission(
        SEGREGATION_ACKNOWLEDGE,
        "Acknowledge a segregation (the responsible department's SPV, QC Lab or a Manager).",
        default_roles=("QC Lab", "Manager", *DEPARTMENT_SPVS),
    ),
    Permission(
        SEGREGATION_RESOLVE,
        "Release segregated units back or scrap them (both are stock moves).",
        default_roles=("QC Lab", "Manager"),
    ),
    Permission(
        REPORT_VIEW,
        "See the defect analysis (department-scoped roles: their department's only).",
        default_roles=(*QC, *OVERSIGHT, *DEPARTMENT_SPVS, "Finance Manager"),
    ),
]
