"""ABCI batch jobs: per-rule resources, the qsub command, job status, the plan, and the Snakemake profile link.

Used by `profiles/abci` (Snakemake's cluster-generic executor) through `python -m cg2real
cluster-submit` / `cluster-status`, by `rules/cluster.smk` for each rule's resources, and by
`make plan-paper` (`cluster-plan`).
"""
