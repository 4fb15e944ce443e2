"""running / success / failed from real-shaped qstat and qacct outputs of both schedulers; one qstat
for many jobs; deleted jobs; Grid Engine jobs that vanish without a record."""

import subprocess

from cg2real.cluster.options import ClusterOptions
from cg2real.cluster.state import JobState
from cg2real.cluster.status import (
    FAILED, RUNNING, SUCCESS, StatusChecker, is_pbs_id, pbs_blocks, pbs_outcome, pbs_status, qacct_outcome,
    qacct_status, uge_queued_status, uge_states,
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
    assert pbs_outcome(PBS_RUNNING.replace("job_state = R", "job_state = F"))[1].startswith("deleted")
    assert pbs_outcome(pbs_finished(271))[1] == "deleted: killed by signal 15 (qdel)"
    assert pbs_outcome(pbs_finished(1)) == (FAILED, "Exit_status 1")


def test_uge_states():
    assert uge_queued_status(UGE_QUEUED) == RUNNING
    assert uge_queued_status(UGE_ERROR) == FAILED
    assert qacct_status(qacct("0", "0")) == SUCCESS
    assert qacct_status(qacct("0", "1")) == FAILED
    assert qacct_status(qacct("37  : qmaster enforced h_rt, h_cpu, or h_vmem limit", "137")) == FAILED
    assert qacct_status(qacct("0", "1") + qacct("0", "0")) == SUCCESS  # the last run counts
    assert qacct_status("") is None
    deleted = qacct("100 : assumedly after job", "137").replace("exit_status", "deleted_by   u@es1\nexit_status")
    assert qacct_outcome(deleted) == (FAILED, "deleted by u@es1")


def test_job_ids_tell_the_scheduler():
    assert is_pbs_id("1234.pbs1") and not is_pbs_id("5678")


def scripted(answers, calls):
    """A subprocess.run stand-in answering each command (by its first two words) with (code, stdout, stderr)."""
    def run(command, **kwargs):
        calls.append(command)
        code, out, err = answers[" ".join(command[:2])]
        return subprocess.CompletedProcess(command, code, stdout=out, stderr=err)
    return run


class Clock:
    def __init__(self):
        self.time = 1000.0

    def __call__(self):
        return self.time


def checker(tmp_path, answers, calls, clock=None, **options):
    state = JobState(tmp_path / "state")
    return StatusChecker(scripted(answers, calls), state, ClusterOptions(**options), clock or Clock()), state


UGE_LIST = """job-ID     prior   name       user         state submit/start at     queue  jclass  slots ja-task-ID
----------------------------------------------------------------------------------------------------
      5678 0.25586 select_bdd aaa10000aa   r     06/27/2018 21:14:49 gpu@g0001                  80
      5679 0.25586 crop_perso aaa10000aa   Eqw   06/27/2018 21:14:49                            80
      5680 0.00000 train_cycl aaa10000aa   qw    06/27/2018 21:14:50                            80
"""


def test_uge_lists_the_queue_once_and_asks_qacct_once_a_job_left_it(tmp_path):
    assert uge_states(UGE_LIST) == {"5678": "r", "5679": "Eqw", "5680": "qw"}
    calls = []
    status, state = checker(tmp_path, {"qstat": (0, UGE_LIST, ""), "qacct -j": (0, qacct("0", "0"), "")}, calls)
    for jobid in ("5678", "5680", "5681"):
        state.submitted(jobid, log=f"/l/{jobid}.log", name="x")
    assert [status(i) for i in ("5678", "5679", "5680", "5681")] == [RUNNING, FAILED, RUNNING, SUCCESS]
    assert calls.count(["qstat"]) == 2  # 5679 was not among the active jobs of the first query
    assert calls[-1] == ["qacct", "-j", "5681"] and state.get("5681")["outcome"] == SUCCESS


def test_uge_job_deleted_while_queued_fails_after_the_grace_period(tmp_path, capsys):
    clock, calls = Clock(), []
    gone = {"qstat": (0, "", ""), "qacct -j": (1, "", "error: job id 5678 not found\n")}
    status, state = checker(tmp_path, gone, calls, clock, status_grace_seconds=60, status_cache_seconds=0)
    state.submitted("5678", log="/l/demo.job1.log", name="demo_data")
    assert status("5678") == RUNNING  # accounting may lag: ask again later
    clock.time += 59
    assert status("5678") == RUNNING
    clock.time += 1
    assert status("5678") == FAILED
    assert state.get("5678")["outcome"] == "deleted"
    err = capsys.readouterr().err
    assert "job 5678 (demo_data) failed: deleted: gone from qstat" in err and "scheduler log: /l/demo.job1.log" in err


def test_uge_accounting_decides_once_written(tmp_path):
    status, state = checker(tmp_path, {"qstat": (0, "", ""), "qacct -j": (0, qacct("0", "1"), "")}, [])
    assert status("5678") == FAILED and state.get("5678")["outcome"] == FAILED
    assert checker(tmp_path / "b", {"qstat": (1, "", "connection refused")}, [])[0]("5678") == RUNNING


def test_pbs_one_qstat_serves_every_active_job(tmp_path):
    answer = pbs_finished(0).replace("1234.pbs1", "1.pbs1") + "\n" + PBS_RUNNING.replace("1234.pbs1", "2.pbs1")
    assert set(pbs_blocks(answer)) == {"1", "2"}
    calls, clock = [], Clock()
    status, state = checker(tmp_path, {"qstat -x": (153, answer, "qstat: Unknown Job Id 3.pbs1\n")}, calls, clock)
    for jobid in ("1.pbs1", "2.pbs1", "3.pbs1"):
        state.submitted(jobid, log="/l/x.log", name="x")
    assert status("1.pbs1") == SUCCESS and state.active() == ["2.pbs1"]  # the ended ones leave the query
    assert [status(i) for i in ("2.pbs1", "3.pbs1")] == [RUNNING, FAILED]
    assert calls == [["qstat", "-x", "-f", "1.pbs1", "2.pbs1", "3.pbs1"]]
    clock.time += 30  # the next round asks again, for the jobs still active only
    assert status("2.pbs1") == RUNNING and calls[-1] == ["qstat", "-x", "-f", "2.pbs1"]


def test_pbs_passing_failures_say_running(tmp_path):
    assert checker(tmp_path, {"qstat -x": (2, "", "Connection refused\n")}, [])[0]("1.pbs1") == RUNNING
