"""The cluster subcommands: `launch` takes a multi-node job's controller from cluster-submit, and
horovodrun gets ABCI 2.0's ssh port."""

import sys

import pytest

import cg2real.launch
from cg2real.__main__ import main
from cg2real.launch import build_command

PROGRAM = ["train-cyclegan", "--out", "x"]


@pytest.mark.parametrize(("environ", "flag", "expected"), [
    ({}, [], "gloo"),
    ({"CG2REAL_CONTROLLER": "mpi"}, [], "mpi"),  # set by cluster-submit for a multi-node job
    ({"CG2REAL_CONTROLLER": "mpi"}, ["--controller", "gloo"], "gloo"),  # the flag wins
])
def test_launch_controller(monkeypatch, environ, flag, expected):
    seen = []
    monkeypatch.setattr(cg2real.launch, "launch", lambda *args: seen.append(args) or 0)
    monkeypatch.delenv("CG2REAL_CONTROLLER", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    assert main(["launch", "--backend", "horovod", "--nproc", "2", *flag, "--", *PROGRAM]) == 0
    assert seen[0][3] == expected and seen[0][4] == PROGRAM


def test_horovodrun_reaches_other_nodes_on_the_jobs_ssh_port():
    two = build_command("horovod", 8, ["g1", "g2"], PROGRAM, "gloo", "2299")
    assert two[1:8] == ["-np", "8", "-H", "g1:4,g2:4", "--ssh-port", "2299", "--gloo"]
    one = build_command("horovod", 4, ["g1"], PROGRAM, "gloo", "2299")
    assert "--ssh-port" not in one  # one host: horovodrun needs no ssh
    assert build_command("horovod", 8, ["g1", "g2"], PROGRAM, "mpi", "2299")[0] == "mpirun"
    assert build_command("none", 1, [], PROGRAM, "gloo", "2299") == [sys.executable, "-m", "cg2real", *PROGRAM]
