"""ERP plugin `ppic`: Sales orders, MO planning and release, dashboard, reports, MRP, alerts."""
