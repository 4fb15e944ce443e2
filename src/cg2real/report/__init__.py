"""Reports: Table 2 rows and table, figures."""
