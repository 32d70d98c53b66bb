"""The PPIC plugin's routers, mounted by the kernel under /api/v1/ppic; ``plugin.erp_routers`` lists them."""

from erp_ppic.routes.alerts import router as alert_router
from erp_ppic.routes.daily_reports import router as daily_report_router
from erp_ppic.routes.dashboard import router as dashboard_router

LIVE_ROUTERS = [dashboard_router, alert_router, daily_report_router]
