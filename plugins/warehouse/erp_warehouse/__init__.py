"""ERP plugin `warehouse`: Master data, stock ledger, transfers between departments, purchase orders."""
