"""Build the command that starts one training process per device, from the scheduler's host file.

The Snakemake rule stays one line (`python -m cg2real launch --backend ... --nproc N -- <args>`);
this module turns it into `torchrun ...`, `horovodrun ...` or `mpirun ...` for one node or many.
Hosts come from `--hosts`, else from the scheduler: `$PBS_NODEFILE` (ABCI 3.0, PBS Professional)
or `$SGE_JOB_HOSTLIST` (ABCI 2.0, Grid Engine); without either, everything runs on this host.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from cg2real.errors import DataError

HOST_FILE_VARIABLES = ("PBS_NODEFILE", "SGE_JOB_HOSTLIST")
RENDEZVOUS_PORT = 29500


def hosts_from_environment(environ: Mapping[str, str]) -> list[str]:
    """Unique host names, in order, from the first scheduler host file that is set; [] if none."""
    for variable in HOST_FILE_VARIABLES:
        if environ.get(variable):
            path = Path(environ[variable])
            if not path.is_file():
                raise DataError(f"${variable} points to {path}, which does not exist")
            names = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
            return list(dict.fromkeys(names))
    return []


def parse_hosts(text: str) -> list[str]:
    """`--hosts a,b,c` (a `:slots` suffix is accepted and ignored: slots = nproc / hosts)."""
    return [item.split(":")[0] for item in text.split(",") if item]


def build_command(backend: str, nproc: int, hosts: list[str], program: list[str], controller: str) -> list[str]:
    """The argv that starts `nproc` processes of `python -m cg2real <program>` on `hosts`."""
    python = [sys.executable, "-m", "cg2real", *program]
    if backend == "none":
        if nproc != 1:
            raise DataError(f"backend 'none' runs one process; got nproc={nproc}")
        return python
    hosts = hosts or ["localhost"]
    if nproc % len(hosts):
        raise DataError(f"nproc={nproc} does not divide evenly over {len(hosts)} hosts")
    per_host = nproc // len(hosts)
    if backend == "torch":
        torchrun = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={per_host}"]
        if len(hosts) == 1:
            return [*torchrun, "--standalone", "-m", "cg2real", *program]
        # one torchrun agent per node, started by mpirun; they meet at the first host
        return ["mpirun", "-np", str(len(hosts)), "-H", ",".join(f"{h}:1" for h in hosts), "-map-by", "ppr:1:node",
                *torchrun, f"--nnodes={len(hosts)}", "--rdzv_backend=c10d",
                f"--rdzv_endpoint={hosts[0]}:{RENDEZVOUS_PORT}", "-m", "cg2real", *program]
    if backend == "horovod":
        host_list = ",".join(f"{h}:{per_host}" for h in hosts)
        if controller == "mpi" and len(hosts) > 1:
            # ABCI's recipe: mpirun with one rank per GPU, ranks packed per node
            return ["mpirun", "-np", str(nproc), "-H", host_list, "-map-by", f"ppr:{per_host}:node",
                    "-x", "NCCL_DEBUG", "-x", "PATH", "-x", "LD_LIBRARY_PATH", *python]
        runner = str(Path(sys.executable).with_name("horovodrun"))
        return [runner, "-np", str(nproc), "-H", host_list, f"--{controller}", *python]
    raise DataError(f"unknown backend {backend!r}")


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def thread_environment(environ: Mapping[str, str], processes_per_host: int, cores: int) -> dict[str, str]:
    """`environ` with the CPU threads of each process set to its share of the job's cores.

    The job's cores are this host's, capped by an OMP_NUM_THREADS already set: Snakemake exports
    the rule's `threads` there, which is what the scheduler gave the job while other jobs run beside
    it. torchrun keeps a value that is already set, so without a split 2 processes x 2 OpenMP threads
    on 2 cores spin against each other and train about 13x slower than 2 x 1 (measured on the demo);
    and a 1-process job that took the whole host beside another job was about 8x slower.
    """
    allotted = environ.get("OMP_NUM_THREADS", "")
    budget = min(cores, int(allotted)) if allotted.isdigit() and int(allotted) > 0 else cores
    share = str(max(1, budget // processes_per_host))
    return {**environ, **dict.fromkeys(THREAD_VARIABLES, share)}


def launch(backend: str, nproc: int, hosts_text: str | None, controller: str, program: list[str]) -> int:
    hosts = parse_hosts(hosts_text) if hosts_text else hosts_from_environment(os.environ)
    command = build_command(backend, nproc, hosts, program, controller)
    env = thread_environment(os.environ, max(1, nproc // max(1, len(hosts))), len(os.sched_getaffinity(0)))
    print(f"launch ({env['OMP_NUM_THREADS']} CPU threads per process):", shlex.join(command), flush=True)
    return subprocess.call(command, env=env)
