"""A submitted job's state as Snakemake's cluster-generic executor wants it: running, success, failed.

The executor calls `python -m cg2real cluster-status <jobid>` with the id `cluster-submit`
printed. The id tells the scheduler: PBS Professional (ABCI 3.0) ids are `<number>.<server>`,
Grid Engine (ABCI 2.0, `qsub -terse`) ids are a bare number, so no setting has to be repeated here.

- PBS: `qstat -x -f <id>` lists finished jobs too (`-x`); `job_state = F` means done, and
  `Exit_status` is the job script's exit code (negative: PBS could not run it).
- Grid Engine: `qstat -j <id>` knows a job only while it is queued or running; a job in error
  state (`Eqw`, with an `error reason`) never starts, so it counts as failed. After the end,
  `qacct -j <id>` holds `failed` and `exit_status`.

An answer that does not decide (a scheduler command failing for a passing reason, an accounting
record not written yet) reports `running`, so the job is checked again rather than lost; the
reason goes to stderr.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Callable

RUNNING, SUCCESS, FAILED = "running", "success", "failed"
PBS_FINISHED_STATES = {"F", "X"}  # X: a finished subjob of an array

log = logging.getLogger(__name__)
Runner = Callable[..., subprocess.CompletedProcess]


def is_pbs_id(jobid: str) -> bool:
    return re.fullmatch(r"\d+", jobid) is None


def pbs_status(qstat_full: str) -> str:
    """State from `qstat -x -f` output (`key = value` lines)."""
    fields = dict(re.findall(r"^\s*(\w+) = (.*)$", qstat_full, flags=re.MULTILINE))
    if "job_state" not in fields:
        log.warning("qstat printed no job_state; checking again later:\n%s", qstat_full)
        return RUNNING
    if fields["job_state"].strip() not in PBS_FINISHED_STATES:
        return RUNNING
    return SUCCESS if fields.get("Exit_status", "").strip() == "0" else FAILED


def uge_queued_status(qstat_job: str) -> str:
    """State from `qstat -j` output of a job the scheduler still holds: running, or failed in error state."""
    states = re.findall(r"^job_state\s+\d+:\s+(\S+)", qstat_job, flags=re.MULTILINE)
    in_error = re.search(r"^error reason\s+\d+:", qstat_job, flags=re.MULTILINE) or any("E" in s for s in states)
    return FAILED if in_error else RUNNING


def qacct_status(qacct: str) -> str | None:
    """State from `qacct -j` output (the last record, if the job ran more than once); None without one."""
    records = [r for r in re.split(r"^=+$", qacct, flags=re.MULTILINE) if "exit_status" in r]
    if not records:
        return None
    fields = dict(re.findall(r"^(\w+)\s+(.*?)\s*$", records[-1], flags=re.MULTILINE))
    failed = fields.get("failed", "0").split()[0]
    return SUCCESS if failed == "0" and fields.get("exit_status") == "0" else FAILED


def job_status(jobid: str, run: Runner = subprocess.run) -> str:
    """Ask the scheduler that issued `jobid`."""
    if is_pbs_id(jobid):
        done = run(["qstat", "-x", "-f", jobid], capture_output=True, text=True)
        if done.returncode == 0:
            return pbs_status(done.stdout)
        if "Unknown Job Id" in done.stderr + done.stdout:  # never existed, or out of the server's history
            return FAILED
        log.warning("qstat -x -f %s failed (exit %d): %s", jobid, done.returncode, done.stderr.strip())
        return RUNNING
    queued = run(["qstat", "-j", jobid], capture_output=True, text=True)
    if queued.returncode == 0:
        return uge_queued_status(queued.stdout)
    if "do not exist" not in queued.stderr + queued.stdout:
        log.warning("qstat -j %s failed (exit %d): %s", jobid, queued.returncode, queued.stderr.strip())
        return RUNNING
    accounted = run(["qacct", "-j", jobid], capture_output=True, text=True)
    status = qacct_status(accounted.stdout) if accounted.returncode == 0 else None
    if status is None:
        log.warning("job %s has left the queue but qacct has no record of it yet", jobid)
        return RUNNING
    return status
