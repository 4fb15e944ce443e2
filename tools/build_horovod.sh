#!/usr/bin/env bash
# Install horovod 0.28.1 into the project venv, building it (patched) against the venv's torch
# only when no matching wheel is cached. See tools/README.md for the why and the knobs.
#
#   PYTHON               venv python                      (default: .venv/bin/python)
#   CG2REAL_WHEEL_CACHE  wheel cache, outside the checkout (default: ${XDG_CACHE_HOME:-$HOME/.cache}/cg2real/wheels)
#   HOROVOD_VARIANT      cpu (gloo) | cuda (NCCL + MPI + gloo; reads CUDA_HOME, HOROVOD_BUILD_CUDA_CC_LIST)
#   HOROVOD_REBUILD=1    ignore the cached wheel and build again
#   HOROVOD_BUILD_JOBS   parallel compile jobs                   (default: nproc)
set -euo pipefail

HOROVOD_VERSION=0.28.1
HOROVOD_SDIST_SHA256=92a43f5a94c43907a56805bad15f19700c62ffc83b7ca483f9e104e229f67ef0
# Bump when the patches or build flags below change, so that stale cached wheels are not reused.
RECIPE_REV=1
# horovod's install_requires (cffi because it is built with PyTorch), pinned to what pip picked on
# the reference machine; pyyaml as in pyproject.toml; packaging is already pulled in by the project.
RUNTIME_DEPS=(cloudpickle==3.1.3 psutil==7.2.2 pyyaml==6.0.4 cffi==2.1.1 pycparser==3.12 packaging)

log() { echo "horovod: $*"; }
die() { echo "horovod: ERROR: $*" >&2; exit 1; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-.venv/bin/python}
[[ $PYTHON == /* || -e $PYTHON ]] || PYTHON=$root/$PYTHON  # relative: to the cwd, else to the repo
[[ -x $PYTHON ]] || die "no python at '$PYTHON' (run 'make setup' first, or set PYTHON)"
# Absolute, but without resolving the venv's symlink to the base interpreter.
PYTHON=$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")
CACHE=${CG2REAL_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cg2real/wheels}
VARIANT=${HOROVOD_VARIANT:-cpu}
JOBS=${HOROVOD_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}

torch_version=$("$PYTHON" -c 'import torch; print(torch.__version__)') \
  || die "torch is not importable with $PYTHON"
py_tag=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')

# Build environment per variant (passed with `env`, so nothing leaks into this shell).
build_env=(HOROVOD_WITH_PYTORCH=1 HOROVOD_WITHOUT_TENSORFLOW=1 HOROVOD_WITHOUT_MXNET=1
           HOROVOD_WITH_GLOO=1 HOROVOD_CPU_OPERATIONS=gloo "MAKEFLAGS=-j$JOBS")
case $VARIANT in
  cpu)
    variant_tag=cpu
    build_env+=(HOROVOD_WITHOUT_MPI=1)
    unset_env=(-u HOROVOD_GPU_OPERATIONS -u HOROVOD_GPU_ALLREDUCE -u HOROVOD_GPU_BROADCAST
               -u HOROVOD_GPU_ALLGATHER -u HOROVOD_GPU -u HOROVOD_WITH_MPI)
    ;;
  cuda)
    CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
    [[ -x $CUDA_HOME/bin/nvcc ]] || die "HOROVOD_VARIANT=cuda needs CUDA_HOME with bin/nvcc (got '$CUDA_HOME'; on ABCI: module load cuda cudnn nccl hpcx)"
    cc_list=${HOROVOD_BUILD_CUDA_CC_LIST:-}
    if [[ -z $cc_list ]] && command -v nvidia-smi >/dev/null; then
      cc_list=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | tr -d '.' | sort -u | paste -sd, -) || cc_list=
    fi
    [[ -n $cc_list ]] || die "HOROVOD_VARIANT=cuda: set HOROVOD_BUILD_CUDA_CC_LIST (e.g. 90 for H100/H200, 80 for A100)"
    command -v mpicxx >/dev/null || die "HOROVOD_VARIANT=cuda builds with MPI: no mpicxx on PATH (ABCI: module load hpcx, or openmpi)"
    variant_tag=cuda-cc${cc_list//,/_}
    build_env+=(HOROVOD_WITH_MPI=1 HOROVOD_GPU_OPERATIONS=NCCL "CUDA_HOME=$CUDA_HOME"
                "HOROVOD_CUDA_HOME=$CUDA_HOME" "HOROVOD_BUILD_CUDA_CC_LIST=$cc_list")
    unset_env=(-u HOROVOD_WITHOUT_MPI)
    ;;
  *) die "HOROVOD_VARIANT must be cpu or cuda (got '$VARIANT')" ;;
esac

# The compiled extension is tied to this exact torch build (and python), so they name the cache entry.
key=horovod-$HOROVOD_VERSION-torch$torch_version-$py_tag-$variant_tag-r$RECIPE_REV
entry=$CACHE/$key

install_runtime_deps() {
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "${RUNTIME_DEPS[@]}"
}

find_wheel() {  # the one wheel in a folder, or nothing
  local w=("$1"/horovod-"$HOROVOD_VERSION"-*.whl)
  [[ ${#w[@]} -eq 1 && -f ${w[0]} ]] && echo "${w[0]}"
  return 0
}

verify() {
  local check='import horovod.torch as hvd; hvd.init(); assert hvd.gloo_built(), "gloo not built"'
  [[ $VARIANT == cuda ]] && check+='; assert hvd.nccl_built(), "NCCL not built"'
  check+='; print(hvd.size())'
  # Single process, no launcher: gloo runs with size 1.
  local size
  size=$(cd /tmp && "$PYTHON" -c "$check") || return 1
  [[ $size == 1 ]] || { echo "horovod: expected size 1, got '$size'" >&2; return 1; }
}

mkdir -p "$CACHE"
# One builder at a time per cache (CI and a developer on the same machine); the others wait,
# then find the wheel cached.
if command -v flock >/dev/null; then
  exec 9>"$CACHE/.horovod.lock"
  flock -n 9 || { log "another build holds $CACHE/.horovod.lock, waiting"; flock 9; }
fi

if [[ ${HOROVOD_REBUILD:-0} == 1 && -d $entry ]]; then
  log "HOROVOD_REBUILD=1: discarding $entry"
  rm -rf "$entry"
fi

wheel=$(find_wheel "$entry")
if [[ -n $wheel ]]; then
  start=$SECONDS
  log "using cached wheel $wheel"
  install_runtime_deps
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheel"
  verify || die "the cached wheel does not work; rebuild with HOROVOD_REBUILD=1 bash tools/build_horovod.sh"
  log "ok ($key, $((SECONDS - start)) s)"
  exit 0
fi

start=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cg2real-horovod.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
buildlog=$CACHE/$key.build.log
log "building $key (about 3 minutes with 2 cores; log: $buildlog)"

# Build-time needs: horovod's setup_requires are its runtime deps (setuptools would otherwise try
# to fetch them itself, since the build runs without isolation against the venv's torch).
install_runtime_deps

echo "horovod==$HOROVOD_VERSION --hash=sha256:$HOROVOD_SDIST_SHA256" >"$tmp/req.txt"
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
  --no-build-isolation --require-hashes -r "$tmp/req.txt" -d "$tmp" \
  || die "could not download the horovod $HOROVOD_VERSION sdist"
tar -xzf "$tmp/horovod-$HOROVOD_VERSION.tar.gz" -C "$tmp"
src=$tmp/horovod-$HOROVOD_VERSION

# Replace an exact string a given number of times, or fail loudly.
patch_file() {  # file old new expected_count
  "$PYTHON" - "$@" <<'EOF'
import sys
path, old, new, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
text = open(path).read()
found = text.count(old)
if found != expected:
    sys.exit(f"horovod: ERROR: patch of {path}: expected {expected} x {old!r}, found {found}")
open(path, "w").write(text.replace(old, new))
EOF
}
# torch >= 2.10 headers need C++20; horovod hard-codes C++14 (top level and the torch extension).
patch_file "$src/CMakeLists.txt" 'set(CMAKE_CXX_STANDARD 14)' 'set(CMAKE_CXX_STANDARD 20)' 1
patch_file "$src/horovod/torch/CMakeLists.txt" 'set(CMAKE_CXX_STANDARD 14)' 'set(CMAKE_CXX_STANDARD 20)' 1
if [[ $VARIANT == cpu ]]; then
  # A CUDA build of torch plus a CUDA toolkit on the machine makes horovod attempt a CUDA build
  # (and fail: "Could NOT find CUDAToolkit"); for the CPU variant report a CPU-only torch.
  patch_file "$src/cmake/Modules/FindPytorch.cmake" \
    'string(TOUPPER "${Pytorch_CUDA}" Pytorch_CUDA)' \
    'string(TOUPPER "${Pytorch_CUDA}" Pytorch_CUDA)
set(Pytorch_CUDA FALSE)  # cg2real: CPU-only horovod build' 1
fi

if ! env "${unset_env[@]}" "${build_env[@]}" \
    "$PYTHON" -m pip wheel -v --disable-pip-version-check --no-build-isolation --no-deps \
    "$src" -w "$tmp/wheel" >"$buildlog" 2>&1; then
  tail -n 40 "$buildlog" >&2
  die "build failed (full log: $buildlog)"
fi
wheel=$(find_wheel "$tmp/wheel")
[[ -n $wheel ]] || die "pip wheel produced no horovod wheel (log: $buildlog)"
"$PYTHON" - "$wheel" <<'EOF' || die "the wheel has no torch extension (log: $buildlog)"
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
sys.exit(0 if any(n.startswith("horovod/torch/mpi_lib_v2") and n.endswith(".so") for n in names) else 1)
EOF

# Copy next to the cache entry first (same file system), then rename: readers never see half a wheel.
staging=$(mktemp -d "$CACHE/.$key.XXXXXX")
cp "$wheel" "$staging/"
chmod 755 "$staging"
rm -rf "$entry"
mv -T "$staging" "$entry"
wheel=$(find_wheel "$entry")
log "built in $((SECONDS - start)) s, cached $wheel"

"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheel"
if ! verify; then
  rm -rf "$entry"
  die "the freshly built wheel does not import/init; removed it from the cache (log: $buildlog)"
fi
log "ok ($key, $((SECONDS - start)) s)"
