"""Reports, from result files only: Table 2 rows and table, figures, the tables as HTML for Snakemake's
report, and how each training went (CycleGAN losses and samples, ultralytics' own plots)."""
