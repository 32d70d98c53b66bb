"""ERP plugin `approval`: Generic multi-level approval engine with signed decisions."""
