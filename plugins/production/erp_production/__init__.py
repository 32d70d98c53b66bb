"""ERP plugin `production`: BOMs, manufacturing orders and SPKs, auto-allocation, daily input, material debt."""
