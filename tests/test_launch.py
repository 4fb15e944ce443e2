"""The launcher's command lines for each backend and host layout, and its thread split."""

import sys

import pytest

from cg2real.errors import DataError
from cg2real.launch import build_command, hosts_from_environment, parse_hosts, thread_environment

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
