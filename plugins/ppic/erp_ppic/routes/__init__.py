"""The PPIC plugin's routers (sales orders, MOs, reports, ...); ``plugin.erp_routers`` lists them."""
