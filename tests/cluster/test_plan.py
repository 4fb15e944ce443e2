"""`cluster-plan` (make plan-paper): the paper's ABCI plan, with node-hours, before its data exist."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cg2real.cluster.plan import BatchJob, PlannedJob, batch_jobs, local_rules, parse_dry_run, placeholder_config, table

REPO = Path(__file__).resolve().parents[2]

DRY_RUN = """Job stats:
job    count

[Tue Dec  1 23:32:12 2026] Group job data_prep (jobs in lexicogr. order):

    [Tue Dec  1 23:32:12 2026]
    rule select_synthia:
        input: data/SYNTHIA
        output: results/data/manifests/cg.csv
        resources: tmpdir=/tmp, nodes=1, gpu=0, runtime=120, abci_scheduler=pbs, abci_group=g, abci_resource_type=rt_HC
Shell command: python -m cg2real select-synthia

    [Tue Dec  1 23:32:12 2026]
    rule select_bdd100k:
        input: data/bdd
        output: results/data/manifests/real_train.csv
        wildcards: split=train
        resources: tmpdir=/tmp, nodes=1, gpu=0, runtime=60, abci_scheduler=pbs, abci_group=g, abci_resource_type=rt_HC
Shell command: python -m cg2real select-bdd100k

    [Tue Dec  1 23:32:12 2026]
    rule crop_persons:
        input: results/data/manifests/cg.csv
        output: results/data/crops/cg
        wildcards: dataset=cg
        resources: tmpdir=/tmp, nodes=1, gpu=0, runtime=30, abci_scheduler=pbs, abci_group=g, abci_resource_type=rt_HC
Shell command: python -m cg2real crop-persons

[Tue Dec  1 23:32:12 2026]
rule train_cyclegan:
    input: results/data/crops/cg
    output: results/cyclegan/gpus512/G_cg2real.pt
    wildcards: run=gpus512
    resources: tmpdir=/tmp, nodes=64, gpu=512, runtime=40, abci_scheduler=pbs, abci_group=g, abci_resource_type=rt_HF
Shell command: python -m cg2real launch

[Tue Dec  1 23:32:12 2026]
rule table2:
    input: results/table2/a.json
    output: results/table2.csv
    resources: tmpdir=/tmp, nodes=1, gpu=0, runtime=60, abci_scheduler=pbs, abci_group=g, abci_resource_type=rt_HC
Shell command: python -m cg2real table2

[Tue Dec  1 23:32:12 2026]
rule all:
    input: results/table2.csv
    resources: tmpdir=/tmp
"""


def test_dry_run_jobs_groups_and_their_walltimes():
    jobs = parse_dry_run(DRY_RUN)
    assert [(group, job.rule) for group, job in jobs] == [
        ("data_prep", "select_synthia"), ("data_prep", "select_bdd100k"), ("data_prep", "crop_persons"),
        (None, "train_cyclegan"), (None, "table2")]
    batches = {batch.name: batch for batch in batch_jobs(jobs, {"table2"})}
    # the group's levels: both selects (the longest, 120 min), then the crop (30 min)
    assert batches["group data_prep"].minutes == 150 and batches["group data_prep"].nodes == 1
    assert batches["train_cyclegan run=gpus512"].node_hours == pytest.approx(64 * 40 / 60)
    assert batches["table2"].local and batches["table2"].node_hours == 0
    text = table(list(batches.values()))
    assert re.search(r"^group data_prep \(3 jobs\) +rt_HC +1 +0 +02:30:00 +2.5$", text, re.M)
    assert re.search(r"^table2 +login node +- +0 +- +0.0$", text, re.M)
    assert "rt_HF: 42.7 node-hours" in text and "total: 45.2 node-hours" in text


def test_a_group_without_dependencies_is_as_long_as_its_longest_job():
    jobs = [PlannedJob("a", "", {"runtime": "30"}, ["x"], ["y"]), PlannedJob("b", "", {"runtime": "50"}, ["x"], ["z"])]
    assert BatchJob("g", jobs).minutes == 50


def test_local_rules_are_read_from_cluster_smk():
    assert {"table2", "summarize_data", "detector_set"} <= local_rules(REPO / "rules" / "cluster.smk")


def test_missing_inputs_get_stand_ins_and_present_ones_stay(tmp_path):
    config = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    present = tmp_path / "SYNTHIA"
    present.mkdir()
    config["data"]["synthia"]["root"] = str(present)
    planned, replaced = placeholder_config(config, tmp_path / "stand-ins")
    assert "data.synthia.root" not in replaced and planned["data"]["synthia"]["root"] == str(present)
    assert {"data.bdd100k.train_images", "data.bdd100k.val_labels", "detector.train.weights", "metrics.weights"} <= set(replaced)
    assert Path(planned["data"]["bdd100k"]["train_images"]).is_dir()
    assert Path(planned["detector"]["train"]["weights"]).is_file()
    assert config["detector"]["train"]["weights"] == "data/weights/darknet53.conv.74"  # the config itself is untouched


@pytest.mark.workflow
def test_the_paper_plan_without_its_data(tmp_path):
    for name in ("Snakefile", "config.yaml", "rules", "schemas", "envs", "report", "profiles", "config"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    environ = {**os.environ, "ABCI_GROUP": "gtest", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-m", "cg2real", "cluster-plan", "--configfile", "config/paper.yaml"],
                          cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = {line.split("  ")[0]: line.split() for line in done.stdout.splitlines()}
    assert rows["train_cyclegan run=gpus512"][-5:] == ["rt_HF", "64", "512", "00:40:00", "42.7"]
    assert rows["train_cyclegan run=gpus4"][-5:] == ["rt_HF", "1", "4", "50:30:00", "50.5"]
    assert rows["group data_prep (8 jobs)"][-5:] == ["rt_HC", "1", "0", "04:00:00", "4.0"]
    assert rows["translate run=gpus4, generator=full"][-5:-3] == ["rt_HG", "1"]
    assert "64 jobs: 35 batch jobs, 29 on the login node" in done.stdout
    assert "total: 420.5 node-hours" in done.stdout and "stand-ins for the missing data.bdd100k" in done.stdout
    assert not (tmp_path / "results").exists()
