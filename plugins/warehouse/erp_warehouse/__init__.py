"""ERP plugin `warehouse`: Master data, stock ledger and balances, transfers between departments, purchase orders."""
