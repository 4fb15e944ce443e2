"""running / success / failed from real-shaped qstat and qacct outputs of both schedulers."""

import subprocess

from cg2real.cluster.status import (
    FAILED, RUNNING, SUCCESS, is_pbs_id, job_status, pbs_status, qacct_status, uge_queued_status,
)

PBS_RUNNING = """Job Id: 1234.pbs1
    Job_Name = train_cyclegan.demo
    Job_Owner = aaa12345aa@login1
    resources_used.walltime = 00:10:00
    job_state = R
    queue = rt_HF
    Error_Path = login1:/home/u/cg2real/logs/train_cyclegan/demo.job.log
    Resource_List.select = 1
    Resource_List.walltime = 72:00:00
    Variable_List = PBS_O_HOME=/home/u,PBS_O_LANG=C.UTF-8,
\tPBS_O_PATH=/usr/bin:/bin,PBS_O_WORKDIR=/home/u/cg2real
    project = gaa50000
"""


def pbs_finished(exit_status):
    return PBS_RUNNING.replace("job_state = R", "job_state = F") + f"    Exit_status = {exit_status}\n"


UGE_QUEUED = """==============================================================
job_number:                 5678
jclass:                     NONE
owner:                      aaa10000aa
cwd:                        /home/u/cg2real
hard resource_list:         h_rt=3600,rt_F=1
job_name:                   select_bdd100k.train
job_state             1:    r
scheduling info:            (Collecting of scheduler job information is turned off)
"""
UGE_ERROR = UGE_QUEUED.replace("job_state             1:    r", "job_state             1:    Eqw") + (
    "error reason    1:          11/24/2026 10:00:01 [1234:5678]: error: can't chdir to /gone: No such file or directory\n"
)


def qacct(failed, exit_status):
    return f"""==============================================================
qname        gpu
hostname     g0001.abci.local
group        gaa50000
jobname      select_bdd100k.train
jobnumber    5678
failed       {failed}
exit_status  {exit_status}
ru_wallclock 60.000s
"""


def test_pbs_states():
    assert pbs_status(PBS_RUNNING) == RUNNING
    assert pbs_status(PBS_RUNNING.replace("job_state = R", "job_state = Q")) == RUNNING
    assert pbs_status(pbs_finished(0)) == SUCCESS
    assert pbs_status(pbs_finished(1)) == FAILED
    assert pbs_status(pbs_finished(-29)) == FAILED  # killed at its walltime
    assert pbs_status(PBS_RUNNING.replace("job_state = R", "job_state = F")) == FAILED  # deleted before it ran


def test_uge_states():
    assert uge_queued_status(UGE_QUEUED) == RUNNING
    assert uge_queued_status(UGE_ERROR) == FAILED
    assert qacct_status(qacct("0", "0")) == SUCCESS
    assert qacct_status(qacct("0", "1")) == FAILED
    assert qacct_status(qacct("37  : qmaster enforced h_rt, h_cpu, or h_vmem limit", "137")) == FAILED
    assert qacct_status(qacct("0", "1") + qacct("0", "0")) == SUCCESS  # the last run counts
    assert qacct_status("") is None


def test_job_ids_tell_the_scheduler():
    assert is_pbs_id("1234.pbs1") and not is_pbs_id("5678")


def scripted(answers, calls):
    """A subprocess.run stand-in answering each command (by its first two words) with (code, stdout, stderr)."""
    def run(command, **kwargs):
        calls.append(command)
        code, out, err = answers[" ".join(command[:2])]
        return subprocess.CompletedProcess(command, code, stdout=out, stderr=err)
    return run


def test_uge_asks_qacct_once_the_job_left_the_queue():
    calls = []
    gone = (1, "", "Following jobs do not exist: \n5678\n")
    assert job_status("5678", scripted({"qstat -j": gone, "qacct -j": (0, qacct("0", "0"), "")}, calls)) == SUCCESS
    assert calls == [["qstat", "-j", "5678"], ["qacct", "-j", "5678"]]
    lagging = {"qstat -j": gone, "qacct -j": (1, "", "error: job id 5678 not found\n")}
    assert job_status("5678", scripted(lagging, [])) == RUNNING  # accounting not written yet: ask again later
    assert job_status("5678", scripted({"qstat -j": (0, UGE_ERROR, "")}, [])) == FAILED


def test_pbs_asks_qstat_history():
    calls = []
    assert job_status("1234.pbs1", scripted({"qstat -x": (0, pbs_finished(0), "")}, calls)) == SUCCESS
    assert calls == [["qstat", "-x", "-f", "1234.pbs1"]]
    assert job_status("1234.pbs1", scripted({"qstat -x": (153, "", "qstat: Unknown Job Id 1234.pbs1\n")}, [])) == FAILED
    assert job_status("1234.pbs1", scripted({"qstat -x": (2, "", "Connection refused\n")}, [])) == RUNNING
