"""ERP plugin `quality`: Inspections, lab tests, segregation and defect analysis."""
