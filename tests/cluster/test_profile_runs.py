"""Real Snakemake with the real ABCI profile: dry runs after install-profile, and full runs on a fake scheduler."""

from __future__ import annotations

import os
import re
import subprocess
import sys
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


@pytest.fixture
def cluster(tmp_path):
    """(workflow folder, environment, scheduler state): profile installed under a temp XDG_CONFIG_HOME."""
    xdg = tmp_path / "xdg"
    install_profile(REPO / "profiles/abci", "abci", {"XDG_CONFIG_HOME": str(xdg)})
    state = tmp_path / "scheduler"
    fake_scheduler.install(tmp_path / "bin", state)
    environ = {key: value for key, value in os.environ.items() if key not in ("ABCI_GROUP", "SNAKEMAKE_PROFILE")}
    environ.update(PATH=os.pathsep.join([str(tmp_path / "bin"), str(SNAKEMAKE.parent), os.environ["PATH"]]),
                   XDG_CONFIG_HOME=str(xdg), FAKE_SCHEDULER_DIR=str(state), ABCI_GROUP="gtest")
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


def job_resources(plan: str, rule: str, wildcards: str) -> dict[str, str]:
    """The resources a dry run prints for the job of `rule` with `wildcards`."""
    for block in plan.split("\nrule ")[1:]:
        if block.startswith(f"{rule}:") and f"wildcards: {wildcards}" in block:
            line = re.search(r"resources: (.*)", block).group(1)
            return dict(item.split("=", 1) for item in line.split(", "))
    raise AssertionError(f"no {rule} job with {wildcards} in:\n{plan}")


def flag_values(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, item in enumerate(args[:-1]) if item == flag]


@pytest.mark.parametrize(("scheduler", "nodes", "resource_type"), [("pbs", "64", "rt_HF"), ("uge", "128", "rt_F")])
def test_bare_profile_name_plans_the_512_gpu_run(cluster, scheduler, nodes, resource_type):
    workdir, environ, state = cluster
    configure(workdir, {"paper512": {"backend": "horovod", "nproc": 512, "settings": {}}}, scheduler=scheduler)
    plan = snakemake(workdir, environ, "--dry-run", "results/cyclegan/paper512/G_cg2real.pt")
    assert plan.returncode == 0, plan.stdout[-3000:]
    resources = job_resources(plan.stdout, "train_cyclegan", "run=paper512")
    assert (resources["nodes"], resources["gpu"], resources["abci_resource_type"]) == (nodes, "512", resource_type)
    assert (resources["runtime"], resources["abci_group"], resources["abci_scheduler"]) == ("4320", "gtest", scheduler)
    assert fake_scheduler.calls(state, "qsub") == []


def test_missing_group_stops_before_anything_is_submitted(cluster):
    workdir, environ, state = cluster
    del environ["ABCI_GROUP"]
    done = snakemake(workdir, environ, *FAST, "results/demo/synthia")
    assert done.returncode != 0
    assert "no ABCI group to charge the jobs to: export ABCI_GROUP=<group>" in done.stdout
    assert fake_scheduler.calls(state, "qsub") == []


def test_pbs_runs_the_data_stage_and_the_cyclegan(cluster):
    workdir, environ, state = cluster
    done = snakemake(workdir, environ, *FAST, "data", "results/cyclegan/demo/G_cg2real.pt")
    assert done.returncode == 0, done.stdout[-3000:]
    assert len(list((workdir / "results/data/crops/cg").glob("*.png"))) > 0
    assert (workdir / "results/cyclegan/demo/G_cg2real.pt").stat().st_size > 0

    submitted = {flag_values(call["args"], "-N")[0]: call for call in fake_scheduler.calls(state, "qsub")}
    assert {"demo_data", "select_synthia", "crop_persons.cg", "train_cyclegan.demo"} <= set(submitted)
    for name, call in submitted.items():
        args = call["args"]
        assert flag_values(args, "-P") == ["gtest"] and flag_values(args, "-q") == ["rt_HF"], name
        walltime = "72:00:00" if name.startswith("train_cyclegan") else "01:00:00"
        assert flag_values(args, "-l") == ["select=1", f"walltime={walltime}"], name
        assert call["id"].endswith(".fakepbs") and "-terse" not in args
    # per-rule job logs under logs/, beside the rules' own logs
    assert "Finished jobid: 0 (Rule: train_cyclegan)" in (workdir / "logs/train_cyclegan/demo.job.log").read_text()
    assert (workdir / "logs/crop_persons/cg.job.log").is_file()
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
    submitted = fake_scheduler.calls(state, "qsub")
    assert [flag_values(call["args"], "-N") for call in submitted] == [["demo_data"], ["select_synthia"]]
    for call in submitted:
        args = call["args"]
        assert flag_values(args, "-g") == ["gtest"] and flag_values(args, "-l") == ["rt_F=1", "h_rt=01:00:00"]
        assert "-terse" in args and "-P" not in args and call["id"].isdigit()
    assert {args[0] for args in fake_scheduler.calls(state, "qstat")} == {"-j"}
    assert sorted(args[-1] for args in fake_scheduler.calls(state, "qacct")) == sorted(c["id"] for c in submitted)


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
    configure(workdir, container=str(image))
    done = snakemake(workdir, environ, *FAST, "results/demo/synthia", "--sdm", "apptainer")
    assert done.returncode == 0, done.stdout[-3000:]
    (run,) = [line for line in (state / "apptainer.txt").read_text().splitlines() if line.startswith("exec")]
    assert " --nv " in run and f" {image} bash -c " in run and "python -m cg2real demo-data" in run
    assert len(fake_scheduler.calls(state, "qsub")) == 1
