#!/usr/bin/env bash
# The GPU check of issue 19 on one GPU: one table (CycleGAN step fp32 vs bf16 + channels_last +
# compile, translation full vs compact, FID, YOLOv3u with AMP; CUDA memory peaks), under 8 minutes.
# Options go to benchmarks/gpu_check.py (--help); the rows also land in results/gpu_check.json (or --out).
#   benchmarks/gpu_check.sh [--out results.json] [--checks cyclegan fid]
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
[ -x "$python" ] || python=python3
mkdir -p results
exec "$python" benchmarks/gpu_check.py --device cuda --out results/gpu_check.json "$@"
