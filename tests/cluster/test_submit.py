"""The qsub command for ABCI 3.0 (PBS) and ABCI 2.0 (Grid Engine), built from a Snakemake jobscript;
what a job gets (its environment, its prelude), and what is never submitted twice."""

import json
import subprocess
from pathlib import Path

import pytest

from cg2real.cluster.options import VARIABLE, ClusterOptions
from cg2real.cluster.state import JobState
from cg2real.cluster.submit import (
    QSUB_MISSING, JobRequest, add_prelude, attempt_log, job_log_stem, job_name, qsub_command, submit,
)
from cg2real.errors import DataError

ENVIRON = {"PATH": "/venv/bin:/usr/bin", "VIRTUAL_ENV": "/venv", "SECRET_TOKEN": "x"}


def properties(scheduler="pbs", group="gaa50000", **resources):
    return {
        "type": "single", "rule": "train_cyclegan", "wildcards": {"run": "paper512"}, "jobid": 7,
        "log": ["logs/train_cyclegan/paper512.log"],
        "resources": {"nodes": 64, "gpu": 512, "runtime": 4320, "mem_mb": 8000, "abci_scheduler": scheduler,
                      "abci_group": group, "abci_resource_type": "rt_HF" if scheduler == "pbs" else "rt_F", **resources},
    }


def flags(command, flag):
    return [command[i + 1] for i, item in enumerate(command[:-1]) if item == flag]


def command(props, options=ClusterOptions(), log=Path("/w/logs/x.job1.log")):
    return qsub_command(JobRequest.from_properties(props), Path("/w/.snakemake/tmp.x/job.sh"), log, options, ENVIRON)


def test_pbs_command_for_abci_3():
    qsub = command(properties("pbs"))
    assert qsub[0] == "qsub" and qsub[-1] == "/w/.snakemake/tmp.x/job.sh"
    assert flags(qsub, "-P") == ["gaa50000"] and flags(qsub, "-q") == ["rt_HF"]
    # ABCI's MPI recipe: one MPI process per GPU on each of the 64 nodes
    assert flags(qsub, "-l") == ["select=64:mpiprocs=8", "walltime=72:00:00"]
    assert flags(qsub, "-N") == ["train_cyclegan.paper512"] and flags(qsub, "-j") == ["oe"]
    assert flags(qsub, "-o") == ["/w/logs/x.job1.log"]
    assert flags(qsub, "-v") == ["PATH,VIRTUAL_ENV,CG2REAL_CONTROLLER=mpi"]
    assert "-V" not in qsub and "-g" not in qsub and "-terse" not in qsub


def test_uge_command_for_abci_2():
    qsub = command(properties("uge", nodes=128))
    assert flags(qsub, "-g") == ["gaa50000"]
    assert flags(qsub, "-l") == ["rt_F=128", "h_rt=72:00:00"]  # ABCI's mpirun recipe needs no ssh
    assert "-terse" in qsub and "-cwd" in qsub and flags(qsub, "-j") == ["y"]
    assert "-P" not in qsub and "-q" not in qsub and "-V" not in qsub


def test_ssh_launch_asks_for_ssh_between_the_nodes():
    ssh = ClusterOptions(multinode="ssh", ssh_port=2299)
    pbs = command(properties("pbs"), ssh)
    assert flags(pbs, "-l") == ["select=64", "walltime=72:00:00"]
    assert flags(pbs, "-v") == ["PATH,VIRTUAL_ENV,CG2REAL_CONTROLLER=gloo,USE_SSH=1"]
    uge = command(properties("uge", nodes=128), ssh)
    assert flags(uge, "-l") == ["rt_F=128", "h_rt=72:00:00", "USE_SSH=1"]
    assert flags(uge, "-v") == ["PATH,VIRTUAL_ENV,CG2REAL_CONTROLLER=gloo,SSH_PORT=2299"]


def test_single_node_jobs_ask_for_no_launch_setting():
    cpu = command(properties("pbs", nodes=1, gpu=0, abci_resource_type="rt_HC"), ClusterOptions(multinode="ssh"))
    assert flags(cpu, "-q") == ["rt_HC"] and flags(cpu, "-l")[0] == "select=1" and flags(cpu, "-v") == ["PATH,VIRTUAL_ENV"]
    gpu = command(properties("uge", nodes=1, gpu=1, abci_resource_type="rt_G.small"))
    assert flags(gpu, "-l")[0] == "rt_G.small=1"
    bare = command(properties("uge", nodes=1, gpu=1), ClusterOptions(job_environment=("UNSET",)))
    assert "-v" not in bare


def test_prelude_goes_after_the_header_once(tmp_path):
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\n# properties = {}\ncd /w && python -m snakemake\n")
    prelude = ("source /etc/profile.d/modules.sh", "module load cuda/13.0/13.0.1 hpcx/2.20")
    add_prelude(script, prelude)
    add_prelude(script, prelude)
    lines = script.read_text().splitlines()
    assert lines[:2] == ["#!/bin/sh", "# properties = {}"] and lines[3:5] == list(prelude)
    assert lines[-1] == "cd /w && python -m snakemake" and len(lines) == 6


def jobscript(tmp_path, props, prelude=()):
    script = tmp_path / "tmp.run" / "abci.train_cyclegan.7.sh"
    script.parent.mkdir(exist_ok=True)
    script.write_text(f"#!/bin/sh\n# properties = {json.dumps(props)}\ncd {tmp_path} && true\n")
    environ = {**ENVIRON, VARIABLE: ClusterOptions(job_prelude=prelude).to_json()}
    return script, environ


def scripted(calls, code=0, out="4242\n", err=""):
    def run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, code, stdout=out, stderr=err)
    return run


def test_submit_prints_the_id_and_logs_each_attempt_apart(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script, environ = jobscript(tmp_path, properties("uge"), prelude=("module load hpcx/2.20",))
    state, calls = JobState(tmp_path / "state"), []
    assert submit(script, scripted(calls), environ, state) == "4242"
    assert "module load hpcx/2.20\n" in script.read_text()
    assert flags(calls[0], "-o") == [str(tmp_path / "logs/train_cyclegan/paper512.job1.log")]
    assert (tmp_path / "logs/train_cyclegan").is_dir() and calls[0][-1] == str(script)
    assert submit(script, scripted(calls, out="4243\n"), environ, state) == "4243"  # Snakemake's retry
    assert flags(calls[1], "-o") == [str(tmp_path / "logs/train_cyclegan/paper512.job2.log")]
    assert state.get("4243")["attempt"] == 2 and state.get("4242")["log"].endswith("paper512.job1.log")


def test_a_rejected_submission_is_not_sent_again(tmp_path):
    script, environ = jobscript(tmp_path, properties("pbs"))
    state, calls = JobState(tmp_path / "state"), []
    rejecting = scripted(calls, code=1, out="", err="qsub: Unauthorized Request")
    with pytest.raises(DataError, match="Unauthorized Request; not submitted again on a retry"):
        submit(script, rejecting, environ, state)
    with pytest.raises(DataError, match="not resubmitted: qsub rejected this job before"):
        submit(script, rejecting, environ, state)
    assert len(calls) == 1


def test_a_deleted_job_is_not_sent_again(tmp_path):
    script, environ = jobscript(tmp_path, properties("pbs"))
    state, calls = JobState(tmp_path / "state"), []
    jobid = submit(script, scripted(calls, out="11.pbs1\n"), environ, state)
    state.update(jobid, outcome="deleted", reason="deleted: qdel while queued")
    with pytest.raises(DataError, match=r"its job 11.pbs1 was deleted \(deleted: qdel while queued\)"):
        submit(script, scripted(calls), environ, state)
    assert len(calls) == 1


def test_qsub_missing_is_one_clear_line(tmp_path):
    script, environ = jobscript(tmp_path, properties("pbs"))

    def missing(command, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", "qsub")

    with pytest.raises(DataError, match=f"^{QSUB_MISSING}$"):
        submit(script, missing, environ, JobState(tmp_path / "state"))


def test_missing_group_stops_before_qsub(tmp_path):
    with pytest.raises(DataError, match="no ABCI group"):
        JobRequest.from_properties(properties(group=""))
    script, environ = jobscript(tmp_path, properties(group=""))
    calls = []
    with pytest.raises(DataError, match="nothing was submitted"):
        submit(script, scripted(calls), environ, JobState(tmp_path / "state"))
    assert calls == []


def test_rule_without_cluster_resources_is_named():
    bare = properties()
    bare["resources"] = {"mem_mb": 1000}
    with pytest.raises(DataError, match=r'train_cyclegan lacks .*nodes.*job_resources\("train_cyclegan"\)'):
        JobRequest.from_properties(bare)


def test_names_and_logs():
    assert job_name({"rule": "crop_persons", "wildcards": {"dataset": "real_train"}}) == "crop_persons.real_train"
    assert job_name({"rule": "x", "wildcards": {"a": "b/c d"}}) == "x.b_c_d"
    group = {"type": "group", "groupid": "data_prep", "jobid": "0123456789abcdef"}
    assert job_name(group) == "data_prep"
    assert job_log_stem(group, "logs/paper") == Path("logs/paper/cluster/data_prep.01234567.job").absolute()
    assert attempt_log(Path("/l/demo.job"), 3) == Path("/l/demo.job3.log")
    group["resources"] = {**properties()["resources"], "nodes": 5, "gpu": 0}  # summed over 5 parallel jobs
    assert JobRequest.from_properties(group).nodes == 1
