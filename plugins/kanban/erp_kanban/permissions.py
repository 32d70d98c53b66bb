"""The permissions the kanban plugin declares, with their default role grants.

Department-scoped roles (SPV <dept>, Admin <dept>) hold the card permissions only for their own
department: the routes pass ``principal`` to the services, which read ``department_scope(...)`` and
refuse another department's board or card.
"""

from __future__ import annotations

from kernel.rbac import Permission
from kernel.rbac.roles import DEPARTMENT_ROLES

DEPARTMENT_STAFF = tuple(sorted(DEPARTMENT_ROLES))
"""SPV Cutting/Sewing/Finishing and Admin Cutting/Embroidery/Sewing/Finishing/Packing."""
SPVS = tuple(r for r in DEPARTMENT_STAFF if r.startswith("SPV "))
PLANNERS = ("Manager", "PPIC Manager", "PPIC Admin")
WAREHOUSE = ("Warehouse Admin", "Warehouse Operator")

BOARD_VIEW = "kanban.board.view"
BOARD_MANAGE = "kanban.board.manage"
CARD_CREATE = "kanban.card.create"
CARD_MOVE = "kanban.card.move"
CARD_APPROVE = "kanban.card.approve"
CARD_FULFIL = "kanban.card.fulfil"
RULE_MANAGE = "kanban.rule.manage"

PERMISSIONS = [
    Permission(
        BOARD_VIEW,
        "See boards, their cards and history, and reorder rules (department roles: their department's).",
        default_roles=(*PLANNERS, "Admin", *WAREHOUSE, "Purchasing Head", "Purchasing", *DEPARTMENT_STAFF),
    ),
    Permission(
        BOARD_MANAGE,
        "Create custom boards; change columns, WIP limits, allowed moves and the auto-approve threshold.",
        default_roles=("Manager", "PPIC Manager"),
    ),
    Permission(
        CARD_CREATE,
        "Request material with a card, and cancel a card (department roles: for their department).",
        default_roles=("PPIC Manager", "PPIC Admin", "Warehouse Admin", *DEPARTMENT_STAFF),
    ),
    Permission(
        CARD_MOVE,
        "Move cards between columns along the allowed moves (department roles: their department's).",
        default_roles=("PPIC Manager", *WAREHOUSE, *DEPARTMENT_STAFF),
    ),
    Permission(
        CARD_APPROVE,
        "Approve or reject pending cards (SPVs: their department's).",
        default_roles=("Manager", "PPIC Manager", *SPVS),
    ),
    Permission(
        CARD_FULFIL,
        "Complete replenishment cards: posts the stock transfer from the warehouse to the store.",
        default_roles=WAREHOUSE,
    ),
    Permission(
        RULE_MANAGE,
        "Create, change and deactivate reorder points per product and department store.",
        default_roles=("Warehouse Admin", "PPIC Manager"),
    ),
]
