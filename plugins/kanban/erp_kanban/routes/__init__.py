"""The kanban plugin's routers, mounted by the kernel under /api/v1/kanban (WebSockets under /ws/kanban)."""

from erp_kanban.routes.boards import router as board_router
from erp_kanban.routes.cards import router as card_router
from erp_kanban.routes.rules import router as rule_router

ROUTERS = [board_router, card_router, rule_router]
