#!/bin/sh
# Snakemake runs this once in the new env (--sdm conda), from the workflow's working directory, the
# project root. The rules call `python -m cg2real`: the env gets the project itself, editable and
# without dependencies, since the env file pins this stage's share of pyproject.toml's.
# (A pip `-e ..` in the env file would not do: Snakemake copies that file into .snakemake/conda/
# and conda resolves relative pip paths from the copy's folder.)
set -e
python -m pip install --no-deps --editable .
# horovod 0.28.1 for the horovod backend, built by the recipe the README documents for the cluster
# (tools/build_horovod.sh, tools/README.md). HOROVOD_VARIANT=cuda (NCCL + MPI + gloo) needs nvcc and
# mpicxx: on ABCI 3.0 load them first (module load cuda/13.0/13.0.1 nccl/2.28/2.28.3-1 hpcx/2.20)
# and set HOROVOD_BUILD_CUDA_CC_LIST=90 (the login node has no GPU to ask). Unset, the cuda variant
# is built when both are on PATH, else the CPU (gloo) one, which runs on one node only.
if [ -z "${HOROVOD_VARIANT:-}" ]; then
    if command -v nvcc >/dev/null && command -v mpicxx >/dev/null; then
        HOROVOD_VARIANT=cuda
    else
        HOROVOD_VARIANT=cpu
        echo "gan env: no nvcc/mpicxx on PATH: horovod built for CPU (gloo, one node); see tools/README.md" >&2
    fi
fi
PYTHON="$(command -v python)" HOROVOD_VARIANT="$HOROVOD_VARIANT" CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}" \
    bash tools/build_horovod.sh
