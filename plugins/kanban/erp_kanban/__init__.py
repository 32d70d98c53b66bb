"""ERP plugin `kanban`: Pull-based replenishment boards tied to stock and production."""
