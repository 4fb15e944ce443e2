"""Real Snakemake with the real ABCI profile: dry runs after install-profile, and runs on a fake
scheduler that checks every qsub as ABCI does (tests/cluster/fake_scheduler.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cg2real.cluster.profile import install_profile
from tests.cluster import fake_scheduler
from tests.test_snakemake_runs import make_workflow

pytestmark = pytest.mark.workflow

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
# the profile's pace is for a shared batch server; the fake one answers at once
FAST = ("--seconds-between-status-checks", "1", "--max-status-checks-per-second", "20", "--latency-wait", "10", "--jobs", "3")
FAKE_MPIRUN = """#!/bin/sh
# records its arguments; the job then fails (there are no fakenodes to run on)
echo "$@" > "$FAKE_MPIRUN_ARGS"
exit 3
"""


@pytest.fixture
def cluster(tmp_path):
    """(workflow folder, environment, scheduler state): profile installed under a temp XDG_CONFIG_HOME."""
    xdg = tmp_path / "xdg"
    install_profile(REPO / "profiles/abci", "abci", {"XDG_CONFIG_HOME": str(xdg)})
    state = tmp_path / "scheduler"
    fake_scheduler.install(tmp_path / "bin", state)
    environ = {key: value for key, value in os.environ.items() if key not in ("ABCI_GROUP", "SNAKEMAKE_PROFILE")}
    environ.update(PATH=os.pathsep.join([str(tmp_path / "bin"), str(SNAKEMAKE.parent), os.environ["PATH"]]),
                   XDG_CONFIG_HOME=str(xdg), FAKE_SCHEDULER_DIR=str(state), ABCI_GROUP="gtest",
                   FAKE_SCHEDULER_GROUPS="gtest", CG2REAL_TEST_TOKEN="secret")
    (tmp_path / "wf").mkdir()
    return make_workflow(tmp_path / "wf"), environ, state


def configure(workdir: Path, runs: dict | None = None, **cluster) -> None:
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["cluster"].update(cluster)
    config["cyclegan"]["runs"].update(runs or {})
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def snakemake(workdir: Path, environ: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SNAKEMAKE), "--profile", "abci", *args], cwd=workdir, env=environ,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)


def job_resources(plan: str, rule: str, wildcards: str = "") -> dict[str, str]:
    """The resources a dry run prints for the job of `rule` with `wildcards`."""
    for block in re.split(r"\n *rule ", plan)[1:]:
        if block.startswith(f"{rule}:") and (not wildcards or f"wildcards: {wildcards}" in block):
            line = re.search(r"resources: (.*)", block).group(1)
            return dict(item.split("=", 1) for item in line.split(", "))
    raise AssertionError(f"no {rule} job with {wildcards} in:\n{plan}")


def flag_values(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, item in enumerate(args[:-1]) if item == flag]


@pytest.mark.parametrize(("scheduler", "nodes", "full", "one_gpu", "cpu"),
                         [("pbs", "64", "rt_HF", "rt_HG", "rt_HC"), ("uge", "128", "rt_F", "rt_G.small", "rt_C.small")])
def test_dry_run_sizes_every_job_to_what_it_uses(cluster, scheduler, nodes, full, one_gpu, cpu):
    workdir, environ, state = cluster
    configure(workdir, {"paper512": {"backend": "horovod", "nproc": 512, "settings": {}}}, scheduler=scheduler)
    plan = snakemake(workdir, environ, "--dry-run", "results/cyclegan/paper512/G_cg2real.pt",
                     "results/translate/demo/full/yolo")
    assert plan.returncode == 0, plan.stdout[-3000:]
    big = job_resources(plan.stdout, "train_cyclegan", "run=paper512")
    assert (big["nodes"], big["gpu"], big["abci_resource_type"]) == (nodes, "512", full)
    # the walltime estimated from the run (config.yaml's cluster.cyclegan_walltime), not 72 h
    assert (big["runtime"], big["abci_group"], big["abci_scheduler"]) == ("20", "gtest", scheduler)
    assert job_resources(plan.stdout, "translate", "run=demo")["abci_resource_type"] == one_gpu
    assert job_resources(plan.stdout, "select_synthia")["abci_resource_type"] == cpu
    assert "Group job data_prep" in plan.stdout and "warning: no ABCI group" not in plan.stdout
    assert fake_scheduler.calls(state, "qsub") == []


def test_dry_run_without_group_warns_and_a_run_stops(cluster):
    workdir, environ, state = cluster
    del environ["ABCI_GROUP"]
    plan = snakemake(workdir, environ, "--dry-run", "results/demo/synthia")
    assert plan.returncode == 0 and plan.stdout.count("warning: no ABCI group set") == 1
    done = snakemake(workdir, environ, *FAST, "results/demo/synthia")
    assert done.returncode != 0
    assert "no ABCI group to charge the jobs to: export ABCI_GROUP=<group>" in done.stdout
    assert "Traceback" not in done.stdout and fake_scheduler.calls(state, "qsub") == []


def test_qsub_missing_is_one_line(cluster, tmp_path):
    workdir, environ, state = cluster
    (tmp_path / "bin" / "qsub").unlink()
    environ["PATH"] = os.pathsep.join([str(tmp_path / "bin"), str(SNAKEMAKE.parent), "/usr/bin", "/bin"])
    done = snakemake(workdir, environ, *FAST, "results/demo/synthia")
    assert done.returncode != 0
    assert [line for line in done.stdout.splitlines() if "not found" in line] == [
        "qsub not found: run from an ABCI login node"]
    assert "Traceback" not in done.stdout and "Error" not in done.stdout.replace(str(workdir), "")


def test_pbs_runs_the_data_stage_and_the_cyclegan(cluster):
    workdir, environ, state = cluster
    done = snakemake(workdir, environ, *FAST, "data", "results/cyclegan/demo/G_cg2real.pt")
    assert done.returncode == 0, done.stdout[-3000:]
    assert len(list((workdir / "results/data/crops/cg").glob("*.png"))) > 0
    assert (workdir / "results/cyclegan/demo/G_cg2real.pt").stat().st_size > 0

    submitted = {flag_values(call["args"], "-N")[0]: call for call in fake_scheduler.submitted(state)}
    # the data chain is one batch job; its summaries ran on the login node
    assert set(submitted) == {"data_prep", "train_cyclegan.demo"}
    prep, train = submitted["data_prep"]["args"], submitted["train_cyclegan.demo"]["args"]
    assert flag_values(prep, "-q") == ["rt_HC"]  # CPU only
    assert flag_values(prep, "-l") == ["select=1", "walltime=03:00:00"]  # demo -> select -> crop/export
    assert flag_values(train, "-q") == ["rt_HF"]  # the run's 2 processes
    assert flag_values(train, "-l") == ["select=1", "walltime=00:20:00"]  # estimated from the run
    for call in submitted.values():
        assert flag_values(call["args"], "-P") == ["gtest"] and "-V" not in call["args"]
        assert flag_values(call["args"], "-v") == ["PATH"]  # VIRTUAL_ENV: not set here
        assert "CG2REAL_TEST_TOKEN" not in call["env"] and call["id"].endswith(".fakepbs")
    # per-attempt job logs beside the rules' own logs; group jobs under logs/cluster/
    assert "Finished jobid: 0 (Rule: train_cyclegan)" in (workdir / "logs/train_cyclegan/demo.job1.log").read_text()
    assert len(list((workdir / "logs/cluster").glob("data_prep.*.job1.log"))) == 1
    launch = (workdir / "logs/train_cyclegan/demo.log").read_text()
    assert "torch.distributed.run --nproc_per_node=2 --standalone" in launch  # the run's 2 processes, one host
    assert all(args[:2] == ["-x", "-f"] for args in fake_scheduler.calls(state, "qstat"))
    assert fake_scheduler.calls(state, "qacct") == []
    again = snakemake(workdir, environ, "--dry-run", "data", "results/cyclegan/demo/G_cg2real.pt")
    assert "Nothing to be done" in again.stdout


def test_grid_engine_runs_jobs_and_reads_their_exit_from_qacct(cluster):
    workdir, environ, state = cluster
    configure(workdir, scheduler="uge")
    done = snakemake(workdir, environ, *FAST, "results/data/manifests/cg.csv")
    assert done.returncode == 0, done.stdout[-3000:]
    assert (workdir / "results/data/manifests/cg.csv").stat().st_size > 0
    (call,) = fake_scheduler.submitted(state)
    args = call["args"]
    assert flag_values(args, "-N") == ["data_prep"] and flag_values(args, "-g") == ["gtest"]
    assert flag_values(args, "-l") == ["rt_C.small=1", "h_rt=02:00:00"]
    assert "-terse" in args and "-P" not in args and call["id"].isdigit()
    assert set(map(tuple, fake_scheduler.calls(state, "qstat"))) == {()}  # plain qstat: one listing for all jobs
    assert [args[-1] for args in fake_scheduler.calls(state, "qacct")] == [call["id"]]


@pytest.mark.parametrize(("scheduler", "multinode", "select", "launcher"), [
    ("pbs", "mpi", ["select=2:mpiprocs=2", "walltime=00:20:00"], "mpirun -np 4 -H fakenode1:2,fakenode2:2 -map-by ppr:2:node"),
    ("uge", "ssh", ["rt_F=2", "h_rt=00:20:00", "USE_SSH=1"], "-np 4 -H fakenode1:2,fakenode2:2 --ssh-port 2222 --gloo"),
])
def test_multi_node_job_starts_the_launcher_on_all_its_hosts(cluster, tmp_path, scheduler, multinode, select, launcher):
    workdir, environ, state = cluster
    configure(workdir, {"wide": {"backend": "horovod", "nproc": 4, "settings": {}}}, scheduler=scheduler,
              multinode=multinode, gpus_per_node=2, job_environment=["PATH", "FAKE_MPIRUN_ARGS"])
    mpirun = tmp_path / "bin" / "mpirun"
    mpirun.write_text(FAKE_MPIRUN)
    mpirun.chmod(0o755)
    environ["FAKE_MPIRUN_ARGS"] = str(tmp_path / "mpirun.txt")
    for crops in ("cg", "real_train"):  # the run's inputs: no data stage needed to start its job
        (workdir / "results/data/crops" / crops).mkdir(parents=True)
    done = snakemake(workdir, environ, *FAST, "--allowed-rules", "train_cyclegan", "--preemptible-retries", "0",
                     "results/cyclegan/wide/G_cg2real.pt")
    assert done.returncode != 0  # there are no fakenodes to train on
    (call,) = fake_scheduler.submitted(state)
    assert flag_values(call["args"], "-l") == select
    controller = "mpi" if multinode == "mpi" else "gloo"
    assert f"CG2REAL_CONTROLLER={controller}" in flag_values(call["args"], "-v")[0]
    assert call["env"]["CG2REAL_CONTROLLER"] == controller
    launch = (workdir / "logs/train_cyclegan/wide.log").read_text()
    assert launcher in launch
    if multinode == "mpi":
        assert (tmp_path / "mpirun.txt").read_text().startswith("-np 4 -H fakenode1:2,fakenode2:2")
    assert "scheduler log:" in done.stdout and "wide.job1.log" in done.stdout


def wait_for(condition, timeout=120.0):
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.2)


@pytest.mark.parametrize("scheduler", ["uge", "pbs"])
def test_a_job_deleted_while_queued_ends_the_run_failed(cluster, scheduler):
    """Grid Engine keeps no record of it: the run fails once the grace period is over, not never."""
    workdir, environ, state = cluster
    configure(workdir, scheduler=scheduler, status_grace_seconds=3, status_cache_seconds=0)
    environ["FAKE_SCHEDULER_HOLD"] = "1"
    run = subprocess.Popen([str(SNAKEMAKE), "--profile", "abci", *FAST, "--retries", "2", "results/demo/synthia"],
                           cwd=workdir, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: fake_scheduler.submitted(state))
        (call,) = fake_scheduler.submitted(state)
        subprocess.run([str(Path(environ["PATH"].split(os.pathsep)[0]) / "qdel"), call["id"]], env=environ, check=True)
        deleted = time.monotonic()
        output, _ = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode != 0
    assert time.monotonic() - deleted < 60  # the grace period (3 s) and a few status rounds
    assert len(fake_scheduler.calls(state, "qsub")) == 1  # the user's qdel is not undone by a retry
    assert f"job {call['id']} (data_prep) failed: deleted" in output and "not resubmitted" in output


def test_a_rejected_submission_is_not_retried(cluster):
    workdir, environ, state = cluster
    environ["FAKE_SCHEDULER_GROUPS"] = "gother"
    done = snakemake(workdir, environ, *FAST, "--retries", "2", "results/demo/synthia")
    assert done.returncode != 0
    (call,) = fake_scheduler.calls(state, "qsub")
    assert "not a member of group gtest" in call["rejected"]
    assert "not submitted again on a retry" in done.stdout and "not resubmitted: qsub rejected" in done.stdout


FAKE_APPTAINER = """#!/bin/sh
# records its arguments; `exec ... IMAGE bash -c CMD` runs CMD on this machine
echo "$@" >> "$FAKE_SCHEDULER_DIR/apptainer.txt"
case "$1" in
  --version) echo "apptainer version 1.3.4";;
  exec) for last; do :; done; exec bash -c "$last";;
esac
"""


def test_configured_image_runs_the_jobs_under_sdm_apptainer(cluster, tmp_path):
    workdir, environ, state = cluster
    image = tmp_path / "cg2real.sif"
    image.write_bytes(b"")
    apptainer = tmp_path / "bin" / "apptainer"
    apptainer.write_text(FAKE_APPTAINER)
    apptainer.chmod(0o755)
    configure(workdir, container=str(image), job_environment=["PATH", "FAKE_SCHEDULER_DIR"])
    done = snakemake(workdir, environ, *FAST, "results/demo/synthia", "--sdm", "apptainer")
    assert done.returncode == 0, done.stdout[-3000:]
    (run,) = [line for line in (state / "apptainer.txt").read_text().splitlines() if line.startswith("exec")]
    assert " --nv " in run and f" {image} bash -c " in run and "python -m cg2real demo-data" in run
    assert len(fake_scheduler.submitted(state)) == 1
