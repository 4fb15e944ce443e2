"""Build the command that starts one training process per device, from the scheduler's host file.

The Snakemake rule stays one line (`python -m cg2real launch --backend ... --nproc N -- <args>`);
this module turns it into `torchrun ...`, `horovodrun ...` or `mpirun ...` for one node or many.
Hosts come from `--hosts`, else from the scheduler: `$PBS_NODEFILE` (ABCI 3.0, PBS Professional)
or `$SGE_JOB_HOSTLIST` (ABCI 2.0, Grid Engine); without either, everything runs on this host.

Lifetime: a job that is killed must leave no training behind. torchrun starts each worker in a
session of its own, so `kill -9` of the job's process group (Snakemake, qdel) used to miss the
workers, which trained on and wrote the run's outputs after the job was gone. Now every process
of the chain dies with its parent (`die_with_parent`, Linux's parent-death signal): the launcher
arms it in the runner it starts, and each training process arms it itself at start-up
(`cyclegan.distributed.init_distributed`). The runner runs in a process group of its own and the
launcher forwards SIGTERM, SIGINT and SIGHUP to it exactly once, so a scheduler's or a terminal's
signal reaches the workers once (they stop gracefully and write a checkpoint) and the launcher
then exits with 128 + the signal's number (143 for SIGTERM), as a process killed by it would.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from cg2real.errors import DataError
from cg2real.signals import handling_signals

HOST_FILE_VARIABLES = ("PBS_NODEFILE", "SGE_JOB_HOSTLIST")
RENDEZVOUS_PORT = 29500
LAUNCHER_VARIABLE = "CG2REAL_LAUNCHER"  # "host:pid" of the launcher, for its processes' start-up check
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # linux/prctl.h


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


def build_command(
    backend: str, nproc: int, hosts: list[str], program: list[str], controller: str, ssh_port: str | None = None
) -> list[str]:
    """The argv that starts `nproc` processes of `python -m cg2real <program>` on `hosts` (`ssh_port`:
    the port horovodrun reaches other hosts on, ABCI 2.0's $SSH_PORT of a `-l USE_SSH=1` job)."""
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
        port = ["--ssh-port", ssh_port] if ssh_port and len(hosts) > 1 else []
        return [runner, "-np", str(nproc), "-H", host_list, *port, f"--{controller}", *python]
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


def die_with_parent(expected_parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies; if the parent is already gone
    (it is no longer `expected_parent`: this process was handed to init or a subreaper before it
    could arm the signal), die now. A no-op off Linux.

    The signal fires when the thread that started this process ends: every runner here (this
    launcher, torchrun's agent, horovod's and MPI's daemons) starts its processes from a thread
    that lives as long as they do.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != expected_parent:
        os.kill(os.getpid(), signal.SIGKILL)


def launcher_is_ancestor(environ: Mapping[str, str]) -> bool:
    """False when this process runs on the launcher's host but the launcher (`LAUNCHER_VARIABLE`)
    is not among its ancestors any more: a parent between them died before this process could arm
    `die_with_parent`. True when there is no launcher or it runs on another host (no way to tell)."""
    host, _, pid = environ.get(LAUNCHER_VARIABLE, "").rpartition(":")
    if not pid.isdigit() or host != socket.gethostname():
        return True
    ancestor = os.getppid()
    while ancestor > 1:
        if ancestor == int(pid):
            return True
        try:
            stat = Path(f"/proc/{ancestor}/stat").read_text()
        except OSError:
            return False
        ancestor = int(stat.rpartition(")")[2].split()[1])  # field 4, after the command's name
    return False


def require_horovod() -> None:
    """Stop with what to run when horovod is missing: `make setup` leaves it out, because building
    it takes a compiler, cmake and minutes that only runs with `backend: horovod` need."""
    if importlib.util.find_spec("horovod") is None:
        raise DataError(
            f"a run with backend 'horovod' needs horovod, which is not installed for {sys.executable}: "
            "run `make horovod` (builds it once with tools/build_horovod.sh), or use backend 'torch'"
        )


def launch(backend: str, nproc: int, hosts_text: str | None, controller: str, program: list[str]) -> int:
    """Run `program` on `nproc` processes; their exit status, or 128 + the number of the first
    signal forwarded to them (the runner's own status then reflects only how it was stopped)."""
    if backend == "horovod":
        require_horovod()
    hosts = parse_hosts(hosts_text) if hosts_text else hosts_from_environment(os.environ)
    command = build_command(backend, nproc, hosts, program, controller, os.environ.get("SSH_PORT"))
    env = thread_environment(os.environ, max(1, nproc // max(1, len(hosts))), len(os.sched_getaffinity(0)))
    env[LAUNCHER_VARIABLE] = f"{socket.gethostname()}:{os.getpid()}"
    print(f"launch ({env['OMP_NUM_THREADS']} CPU threads per process):", shlex.join(command), flush=True)
    received: list[int] = []
    runner: subprocess.Popen | None = None

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)
        if runner is not None:
            runner.send_signal(signum)

    # a signal the launcher ignores (SIGHUP under nohup) stays ignored, and so in the runner it starts
    with handling_signals(FORWARDED_SIGNALS, forward):
        me = os.getpid()
        runner = subprocess.Popen(command, env=env, process_group=0, preexec_fn=lambda: die_with_parent(me))
        if received:  # arrived while the runner was starting
            runner.send_signal(received[0])
        code = runner.wait()
    return 128 + received[0] if received and code != 0 else code
