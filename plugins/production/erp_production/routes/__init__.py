"""The production plugin's routers, mounted by the kernel under /api/v1/production."""

from erp_production.routes.boms import router as bom_router
from erp_production.routes.debts import router as debt_router
from erp_production.routes.orders import router as order_router
from erp_production.routes.spks import router as spk_router

ROUTERS = [bom_router, order_router, spk_router, debt_router]
