"""The qsub command for ABCI 3.0 (PBS) and ABCI 2.0 (Grid Engine), built from a Snakemake jobscript."""

import json
import subprocess
from pathlib import Path

import pytest

from cg2real.cluster.submit import JobRequest, job_log, job_name, qsub_command, submit
from cg2real.errors import DataError


def properties(scheduler="pbs", group="gaa50000", **resources):
    return {
        "type": "single", "rule": "train_cyclegan", "wildcards": {"run": "paper512"}, "jobid": 7,
        "log": ["logs/train_cyclegan/paper512.log"],
        "resources": {"nodes": 64, "gpu": 512, "runtime": 4320, "mem_mb": 8000, "abci_scheduler": scheduler,
                      "abci_group": group, "abci_resource_type": "rt_HF" if scheduler == "pbs" else "rt_F", **resources},
    }


def flags(command, flag):
    return [command[i + 1] for i, item in enumerate(command[:-1]) if item == flag]


def test_pbs_command_for_abci_3():
    request = JobRequest.from_properties(properties("pbs"))
    command = qsub_command(request, Path("/w/.snakemake/tmp.x/snakejob.sh"))
    assert command[0] == "qsub" and command[-1] == "/w/.snakemake/tmp.x/snakejob.sh"
    assert flags(command, "-P") == ["gaa50000"] and flags(command, "-q") == ["rt_HF"]
    assert flags(command, "-l") == ["select=64", "walltime=72:00:00"]
    assert flags(command, "-N") == ["train_cyclegan.paper512"] and flags(command, "-j") == ["oe"]
    assert flags(command, "-o") == [str(Path("logs/train_cyclegan/paper512.job.log").absolute())]
    assert "-g" not in command and "-terse" not in command


def test_uge_command_for_abci_2():
    command = qsub_command(JobRequest.from_properties(properties("uge", nodes=128)), Path("job.sh"))
    assert flags(command, "-g") == ["gaa50000"]
    assert flags(command, "-l") == ["rt_F=128", "h_rt=72:00:00"]
    assert "-terse" in command and "-cwd" in command and flags(command, "-j") == ["y"]
    assert "-P" not in command and "-q" not in command


def test_missing_group_stops_before_qsub(tmp_path):
    with pytest.raises(DataError, match="no ABCI group"):
        JobRequest.from_properties(properties(group=""))
    calls = []
    jobscript = tmp_path / "job.sh"
    jobscript.write_text(f"#!/bin/sh\n# properties = {json.dumps(properties(group=''))}\ntrue\n")
    with pytest.raises(DataError, match="nothing was submitted"):
        submit(jobscript, run=lambda *a, **k: calls.append(a))
    assert calls == []


def test_rule_without_cluster_resources_is_named():
    bare = properties()
    bare["resources"] = {"mem_mb": 1000}
    with pytest.raises(DataError, match=r'rule train_cyclegan lacks .*nodes.*job_resources\("train_cyclegan"\)'):
        JobRequest.from_properties(bare)


def test_submit_prints_the_first_line_and_makes_the_log_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    jobscript = tmp_path / "job.sh"
    jobscript.write_text(f"#!/bin/sh\n# properties = {json.dumps(properties('uge'))}\ntrue\n")
    seen = []

    def fake_qsub(command, **kwargs):
        seen.append(command)
        return subprocess.CompletedProcess(command, 0, stdout="4242\n", stderr="")

    assert submit(jobscript, run=fake_qsub) == "4242"
    assert (tmp_path / "logs/train_cyclegan").is_dir() and seen[0][-1] == str(jobscript)
    failing = lambda command, **kwargs: subprocess.CompletedProcess(command, 1, stdout="", stderr="qsub: Unknown queue")  # noqa: E731
    with pytest.raises(DataError, match="Unknown queue"):
        submit(jobscript, run=failing)


def test_names_and_logs():
    assert job_name("crop_persons", {"dataset": "real_train"}) == "crop_persons.real_train"
    assert job_name("x", {"a": "b/c d"}) == "x.b_c_d"
    no_log = {"rule": "all", "jobid": 3, "log": []}
    assert job_log(no_log) == Path("logs/cluster/all.3.log").absolute()
