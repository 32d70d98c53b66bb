"""ERP plugin `production`: BOMs, MOs and SPKs, auto-allocation, daily input, material debt."""
