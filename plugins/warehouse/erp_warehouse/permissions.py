"""The permissions of the warehouse plugin and their default grants (DOMAIN.md, "The 22 roles").

Superadmin receives every permission from the kernel. Department-scoped roles (SPV <dept>, Admin
<dept>) hold the transfer permissions only for their own department's store: the routes read
``principal.department_scope(...)`` and the transfer services refuse any other store.
"""

from __future__ import annotations

from kernel.rbac import Permission
from kernel.rbac.roles import DEPARTMENT_ROLES

DEPARTMENT_STAFF = tuple(sorted(DEPARTMENT_ROLES))
"""SPV Cutting/Sewing/Finishing and Admin Cutting/Embroidery/Sewing/Finishing/Packing."""
PLANNERS = ("Manager", "PPIC Manager", "PPIC Admin")
WAREHOUSE = ("Warehouse Admin", "Warehouse Operator")

STOCK_VIEW = "warehouse.stock.view"
STOCK_MOVE = "warehouse.stock.move"
STOCK_RESERVE = "warehouse.stock.reserve"
TRANSFER_VIEW = "warehouse.transfer.view"
TRANSFER_SEND = "warehouse.transfer.send"
TRANSFER_ACCEPT = "warehouse.transfer.accept"
TRANSFER_CANCEL = "warehouse.transfer.cancel"
MASTER_VIEW = "warehouse.masterdata.view"
MASTER_CREATE = "warehouse.masterdata.create"
MASTER_UPDATE = "warehouse.masterdata.update"
MASTER_DEACTIVATE = "warehouse.masterdata.deactivate"
MASTER_IMPORT = "warehouse.masterdata.import"
MASTER_EXPORT = "warehouse.masterdata.export"
PO_VIEW = "warehouse.po.view"
PO_CREATE = "warehouse.po.create"
PO_SEND = "warehouse.po.send"
PO_CANCEL = "warehouse.po.cancel"
PO_CLOSE = "warehouse.po.close"
PO_DELETE = "warehouse.po.delete"
PO_RECEIVE = "warehouse.po.receive"
REPORT_VIEW = "warehouse.report.view"

PERMISSIONS = [
    Permission(
        STOCK_VIEW,
        "See stock balances, lots and a product's ledger.",
        default_roles=(
            *WAREHOUSE,
            "Finance Manager",
            *PLANNERS,
            "Purchasing Head",
            "Purchasing",
            *DEPARTMENT_STAFF,
        ),
    ),
    Permission(
        STOCK_MOVE, "Post stock moves (receipts, issues, internal moves, scans).", default_roles=WAREHOUSE
    ),
    Permission(
        STOCK_RESERVE, "Reserve free stock for a document and release it.", default_roles=("Warehouse Admin",)
    ),
    Permission(
        TRANSFER_VIEW,
        "See transfers between department stores.",
        default_roles=(*WAREHOUSE, *PLANNERS, *DEPARTMENT_STAFF),
    ),
    Permission(
        TRANSFER_SEND,
        "Send WIP from a department store to the next (department roles: from their own store only).",
        default_roles=(*WAREHOUSE, *DEPARTMENT_STAFF),
    ),
    Permission(
        TRANSFER_ACCEPT,
        "Accept a transfer with the counted quantity (department roles: into their own store only).",
        default_roles=("Warehouse Admin", *DEPARTMENT_STAFF),
    ),
    Permission(
        TRANSFER_CANCEL,
        "Cancel a sent transfer (department roles: one sent from their own store only).",
        default_roles=("Warehouse Admin", *DEPARTMENT_STAFF),
    ),
    Permission(
        MASTER_VIEW,
        "See master data: products, categories, units, partners, locations, lots.",
        default_roles=(
            *WAREHOUSE,
            "Finance Manager",
            *PLANNERS,
            "Purchasing Head",
            "Purchasing",
            *DEPARTMENT_STAFF,
        ),
    ),
    Permission(MASTER_CREATE, "Create master data records.", default_roles=("Warehouse Admin",)),
    Permission(MASTER_UPDATE, "Change master data records.", default_roles=("Warehouse Admin",)),
    Permission(MASTER_DEACTIVATE, "Deactivate master data records.", default_roles=("Warehouse Admin",)),
    Permission(MASTER_IMPORT, "Import master data from CSV files.", default_roles=("Warehouse Admin",)),
    Permission(MASTER_EXPORT, "Export master data as CSV.", default_roles=("Warehouse Admin",)),
    Permission(
        PO_VIEW,
        "See purchase orders and their receipts.",
        default_roles=("Purchasing", "Purchasing Head", "Finance Manager", "Warehouse Admin", "Manager"),
    ),
    Permission(PO_CREATE, "Create Draft purchase orders.", default_roles=("Purchasing", "Purchasing Head")),
    Permission(
        PO_SEND,
        "Approve a Draft purchase order and send it to the supplier.",
        default_roles=("Purchasing Head",),
    ),
    Permission(PO_CANCEL, "Cancel a Draft or Sent purchase order.", default_roles=("Purchasing Head",)),
    Permission(
        PO_CLOSE,
        "Close a partly received purchase order (the rest will not come).",
        default_roles=("Purchasing Head",),
    ),
    Permission(PO_DELETE, "Delete a Draft or Cancelled purchase order.", default_roles=("Purchasing Head",)),
    Permission(
        PO_RECEIVE, "Receive goods against a Sent purchase order.", default_roles=("Warehouse Admin",)
    ),
    Permission(
        REPORT_VIEW,
        "See the inventory report and export it as CSV.",
        default_roles=("Warehouse Admin", "Finance Manager", *PLANNERS, "Purchasing Head"),
    ),
]
