#!/bin/sh
# Snakemake runs this once in the new env (--sdm conda), from the workflow's working directory, the
# project root. The rules call `python -m cg2real`: the env gets the project itself, editable and
# without dependencies, since the env file pins this stage's share of pyproject.toml's.
# (A pip `-e ..` in the env file would not do: Snakemake copies that file into .snakemake/conda/
# and conda resolves relative pip paths from the copy's folder.)
set -e
python -m pip install --no-deps --editable .
