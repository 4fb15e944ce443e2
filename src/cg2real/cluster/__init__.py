"""ABCI batch jobs: per-rule resources, the qsub command, job status, and the Snakemake profile link.

Used by `profiles/abci` (Snakemake's cluster-generic executor) through `python -m cg2real
cluster-submit` / `cluster-status`, and by `rules/common.smk` for each rule's resources.
"""
