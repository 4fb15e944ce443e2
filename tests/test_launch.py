"""The launcher's command lines for each backend and host layout, its thread split, and the
lifetime of what it starts: signals forwarded once, nothing outliving a killed job."""

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cg2real.errors import DataError
from cg2real.launch import (
    LAUNCHER_VARIABLE,
    build_command,
    hosts_from_environment,
    launch,
    launcher_is_ancestor,
    parse_hosts,
    thread_environment,
)

PROGRAM = ["train-cyclegan", "--out", "x"]


def test_single_process_runs_the_program_directly():
    assert build_command("none", 1, [], PROGRAM, "gloo") == [sys.executable, "-m", "cg2real", *PROGRAM]
    with pytest.raises(DataError, match="one process"):
        build_command("none", 2, [], PROGRAM, "gloo")


def test_torch_one_node_is_standalone_torchrun():
    command = build_command("torch", 4, [], PROGRAM, "gloo")
    assert command[1:5] == ["-m", "torch.distributed.run", "--nproc_per_node=4", "--standalone"]
    assert command[-len(PROGRAM) - 2 :] == ["-m", "cg2real", *PROGRAM]


def test_torch_many_nodes_starts_one_agent_per_node():
    command = build_command("torch", 8, ["n1", "n2"], PROGRAM, "gloo")
    assert command[:5] == ["mpirun", "-np", "2", "-H", "n1:1,n2:1"]
    assert "--nproc_per_node=4" in command and "--nnodes=2" in command
    assert "--rdzv_endpoint=n1:29500" in command


def test_horovod_gloo_and_mpi():
    gloo = build_command("horovod", 2, [], PROGRAM, "gloo")
    assert gloo[0].endswith("horovodrun") and gloo[1:6] == ["-np", "2", "-H", "localhost:2", "--gloo"]
    mpi = build_command("horovod", 8, ["a", "b"], PROGRAM, "mpi")
    assert mpi[:7] == ["mpirun", "-np", "8", "-H", "a:4,b:4", "-map-by", "ppr:4:node"]
    with pytest.raises(DataError, match="divide evenly"):
        build_command("horovod", 6, ["a", "b", "c", "d"], PROGRAM, "mpi")


def test_a_horovod_run_without_horovod_says_what_to_install(monkeypatch):
    """`make setup` does not build horovod: the run stops before starting anything, naming the fix."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "horovod" else real_find_spec(name, *a)
    )
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("a runner was started"))
    with pytest.raises(DataError, match="make horovod"):
        launch("horovod", 2, None, "gloo", PROGRAM)


def test_hosts_from_pbs_and_grid_engine_files(tmp_path):
    nodefile = tmp_path / "nodes"
    nodefile.write_text("g0001\ng0001\ng0002\ng0002\n")  # PBS lists a host once per rank slot
    assert hosts_from_environment({"PBS_NODEFILE": str(nodefile)}) == ["g0001", "g0002"]
    assert hosts_from_environment({"SGE_JOB_HOSTLIST": str(nodefile)}) == ["g0001", "g0002"]
    assert hosts_from_environment({}) == []
    with pytest.raises(DataError, match="does not exist"):
        hosts_from_environment({"PBS_NODEFILE": str(tmp_path / "gone")})
    assert parse_hosts("a:4,b:4") == ["a", "b"]


def test_threads_split_between_processes_of_a_host():
    env = thread_environment({"OMP_NUM_THREADS": "2", "PATH": "/bin"}, processes_per_host=2, cores=2)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1" and env["PATH"] == "/bin"
    assert thread_environment({}, processes_per_host=4, cores=64)["OMP_NUM_THREADS"] == "16"


def test_threads_stay_within_the_jobs_allotment():
    # a 1-thread job (Snakemake's OMP_NUM_THREADS) on a 2-core host shares it with another job
    assert thread_environment({"OMP_NUM_THREADS": "1"}, processes_per_host=1, cores=2)["OMP_NUM_THREADS"] == "1"
    assert thread_environment({"OMP_NUM_THREADS": "8"}, processes_per_host=2, cores=64)["OMP_NUM_THREADS"] == "4"
    assert thread_environment({"OMP_NUM_THREADS": "128"}, processes_per_host=1, cores=16)["OMP_NUM_THREADS"] == "16"
    assert thread_environment({"OMP_NUM_THREADS": ""}, processes_per_host=2, cores=8)["OMP_NUM_THREADS"] == "4"


# ------------------------------------------------------------------ lifetime and signals
# A launcher whose "training" is `CHILD`: the real launch(), with the runner's command replaced.
LAUNCHER = textwrap.dedent(
    """
    import sys
    import cg2real.launch as launch
    launch.build_command = lambda *args: [sys.executable, "-c", sys.argv[1], *sys.argv[2:]]
    sys.exit(launch.launch("none", 1, None, "gloo", []))
    """
)
# counts the SIGTERMs it gets in argv[1], then exits as a stopped training does
CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    def stop(signum, frame):
        with open(sys.argv[1], "a") as handle:
            handle.write("TERM\\n")
        time.sleep(0.5)  # a checkpoint being written; a repeated signal would arrive now
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    print("ready", os.getpid(), flush=True)
    time.sleep(300)
    """
)


def start_launcher(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    """The launcher in a session of its own (as Snakemake and schedulers start jobs) and its child's pid."""
    job = subprocess.Popen([sys.executable, "-c", LAUNCHER, CHILD, str(tmp_path / "signals")],
                           stdout=subprocess.PIPE, text=True, start_new_session=True)
    for line in job.stdout:
        if line.startswith("ready"):
            return job, int(line.split()[1])
    raise AssertionError("the child never started")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended


def test_sigterm_to_the_jobs_group_reaches_the_training_once_and_exits_143(tmp_path):
    job, child = start_launcher(tmp_path)
    os.killpg(job.pid, signal.SIGTERM)  # a walltime or Snakemake cancelling the job
    assert job.wait(timeout=30) == 143
    assert (tmp_path / "signals").read_text() == "TERM\n"  # once: only the launcher forwards it
    assert not alive(child)


def test_kill_9_of_the_jobs_group_takes_the_runner_with_it(tmp_path):
    """The runner lives in a process group of its own (so a signal reaches it once, forwarded) and
    still dies with the launcher: its parent-death signal."""
    job, child = start_launcher(tmp_path)
    assert os.getpgid(child) != os.getpgid(job.pid)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


ORPHAN = textwrap.dedent(
    """
    import os, subprocess, sys, time
    # a grandchild in a session of its own, as torchrun starts its workers, arming die_with_parent
    code = "import os, sys, time; from cg2real.launch import die_with_parent; die_with_parent(int(sys.argv[1])); " \\
           "print(os.getpid(), flush=True); time.sleep(300)"
    worker = subprocess.Popen([sys.executable, "-c", code, str(os.getpid())], start_new_session=True,
                              stdout=subprocess.PIPE, text=True)
    print(worker.stdout.readline().strip(), flush=True)
    time.sleep(300)
    """
)


def test_a_worker_in_its_own_session_dies_with_its_parent(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    assert alive(worker)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(worker)


def test_a_process_whose_parent_is_already_gone_does_not_start(tmp_path):
    code = "from cg2real.launch import die_with_parent; die_with_parent(1); print('alive')"  # 1: not its parent
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL and "alive" not in done.stdout


def test_launcher_is_an_ancestor_check():
    here = socket.gethostname()
    assert launcher_is_ancestor({})  # not started by the launcher: nothing to check
    assert launcher_is_ancestor({LAUNCHER_VARIABLE: f"{here}:{os.getppid()}"})
    assert launcher_is_ancestor({LAUNCHER_VARIABLE: f"other-host:{os.getppid() + 1}"})  # cannot tell
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as stranger:
        try:
            assert not launcher_is_ancestor({LAUNCHER_VARIABLE: f"{here}:{stranger.pid}"})
        finally:
            stranger.kill()
