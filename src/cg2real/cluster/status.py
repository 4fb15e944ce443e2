"""A submitted job's state as Snakemake's cluster-generic executor wants it: running, success, failed.

The executor calls `python -m cg2real cluster-status <jobid>` once per job and round, with the id
`cluster-submit` printed. The id tells the scheduler: PBS Professional (ABCI 3.0) ids are
`<number>.<server>`, Grid Engine (ABCI 2.0, `qsub -terse`) ids are a bare number.

One qstat answers many queries: the first query of a round asks about every job still active
(PBS: `qstat -x -f <id> <id> ...`; Grid Engine: `qstat`, the user's own jobs) and keeps the answer
for `cluster.status_cache_seconds`; the other jobs' queries read it.

- PBS: `-x` lists finished jobs too (ABCI keeps 10 days of them); `job_state = F` means done, and
  `Exit_status` is the job script's exit code. Not from ABCI's guide but PBS Professional's
  convention: no `Exit_status` means the job never ran (deleted while queued), and 256 + n means
  it was killed by signal n (qdel of a running job); both count as deleted.
- Grid Engine: `qstat` knows a job while it is queued or running; a job in error state (`Eqw`)
  never starts, so it counts as failed. After the end, `qacct -j <id>` holds `failed`,
  `exit_status` and `deleted_by` (https://docs.abci.ai/en/job-execution/, "Report batch job
  accounting"). A job deleted while queued never gets a record: one absent from both for
  `cluster.status_grace_seconds` is reported failed (deleted), rather than running forever.

A deleted job is not submitted again (cg2real.cluster.submit). An answer that does not decide
(qstat failing for a passing reason, an accounting record not written yet) reports `running`,
so the job is checked again rather than lost; the reason goes to stderr, as does the scheduler
log of a job that failed.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping

from cg2real.cluster.options import ClusterOptions
from cg2real.cluster.state import JobState

RUNNING, SUCCESS, FAILED = "running", "success", "failed"
PBS_FINISHED_STATES = {"F", "X"}  # X: a finished subjob of an array
SIGNALLED = 256  # PBS Professional: Exit_status 256 + n, killed by signal n

log = logging.getLogger(__name__)
Runner = Callable[..., subprocess.CompletedProcess]


def is_pbs_id(jobid: str) -> bool:
    return re.fullmatch(r"\d+", jobid) is None


def job_number(jobid: str) -> str:
    return jobid.split(".")[0]


def pbs_outcome(qstat_full: str) -> tuple[str, str]:
    """(state, why) from one job's `qstat -x -f` block (`key = value` lines)."""
    fields = dict(re.findall(r"^\s*(\w+) = (.*)$", qstat_full, flags=re.MULTILINE))
    if "job_state" not in fields:
        return RUNNING, "qstat printed no job_state; checking again later"
    if fields["job_state"].strip() not in PBS_FINISHED_STATES:
        return RUNNING, ""
    exit_status = fields.get("Exit_status", "").strip()
    if not exit_status:
        return FAILED, "deleted: it finished without running (qdel while queued)"
    if exit_status == "0":
        return SUCCESS, ""
    if exit_status.lstrip("-").isdigit() and int(exit_status) > SIGNALLED:
        return FAILED, f"deleted: killed by signal {int(exit_status) - SIGNALLED} (qdel)"
    return FAILED, f"Exit_status {exit_status}"


def pbs_status(qstat_full: str) -> str:
    return pbs_outcome(qstat_full)[0]


def pbs_blocks(qstat_full: str) -> dict[str, str]:
    """Job number -> its block of a multi-job `qstat -x -f` answer."""
    blocks = re.split(r"^(?=Job Id: )", qstat_full, flags=re.MULTILINE)
    found = {}
    for block in blocks:
        if match := re.match(r"Job Id: (\S+)", block):
            found[job_number(match.group(1))] = block
    return found


def uge_states(qstat_list: str) -> dict[str, str]:
    """Job number -> state (qw, r, Eqw, ...) from plain `qstat` (header, dashes, one row per job)."""
    states = {}
    for line in qstat_list.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0].isdigit():
            states[fields[0]] = fields[4]
    return states


def uge_queued_status(qstat_job: str) -> str:
    """State from `qstat -j` output of a job the scheduler still holds: running, or failed in error state."""
    states = re.findall(r"^job_state\s+\d+:\s+(\S+)", qstat_job, flags=re.MULTILINE)
    in_error = re.search(r"^error reason\s+\d+:", qstat_job, flags=re.MULTILINE) or any("E" in s for s in states)
    return FAILED if in_error else RUNNING


def qacct_outcome(qacct: str) -> tuple[str, str] | None:
    """(state, why) from `qacct -j` output (the last record, if the job ran more than once); None without one."""
    records = [r for r in re.split(r"^=+$", qacct, flags=re.MULTILINE) if "exit_status" in r]
    if not records:
        return None
    fields = dict(re.findall(r"^(\w+)\s+(.*?)\s*$", records[-1], flags=re.MULTILINE))
    failed = fields.get("failed", "0").split()[0]
    deleted_by = fields.get("deleted_by", "NONE")
    if deleted_by not in ("NONE", ""):
        return FAILED, f"deleted by {deleted_by}"
    if failed == "0" and fields.get("exit_status") == "0":
        return SUCCESS, ""
    return FAILED, f"failed {fields.get('failed', '?')}, exit_status {fields.get('exit_status', '?')}"


def qacct_status(qacct: str) -> str | None:
    outcome = qacct_outcome(qacct)
    return outcome[0] if outcome else None


def recorded_outcome(status: str, why: str) -> str:
    """What the job state keeps: success, failed, or deleted (never submitted again)."""
    return "deleted" if why.startswith("deleted") else status


class StatusChecker:
    """Answers status queries, sharing one qstat among the active jobs (see the module)."""

    def __init__(self, run: Runner = subprocess.run, state: JobState | None = None,
                 options: ClusterOptions | None = None, now: Callable[[], float] = time.time):
        self.run, self.state, self.now = run, state or JobState(), now
        self.options = options or ClusterOptions()

    def _fresh_cache(self, scheduler: str, number: str) -> dict | None:
        cache = self.state.cache()
        fresh = cache.get("scheduler") == scheduler and self.now() - cache.get("time", 0) < self.options.status_cache_seconds
        return cache if fresh and number in cache.get("asked", []) else None

    def _pbs_answer(self, jobid: str) -> tuple[str, str]:
        number = job_number(jobid)
        cache = self._fresh_cache("pbs", number)
        if cache is None:
            ids = sorted({jobid, *(i for i in self.state.active() if is_pbs_id(i))})
            done = self.run(["qstat", "-x", "-f", *ids], capture_output=True, text=True)
            blocks = pbs_blocks(done.stdout)
            unknown = [job_number(i) for i in re.findall(r"Unknown Job Id (\S+)", done.stderr + done.stdout)]
            if done.returncode and not blocks and not unknown:
                return RUNNING, f"qstat -x -f failed (exit {done.returncode}): {done.stderr.strip()}"
            cache = {"scheduler": "pbs", "time": self.now(), "asked": [job_number(i) for i in ids],
                     "blocks": blocks, "unknown": unknown}
            self.state.store_cache(cache)
            for other in ids:  # jobs that ended (an earlier run's, say) leave the next query
                number_of_other = job_number(other)
                if number_of_other in unknown:
                    self.state.update(other, outcome=FAILED, reason="Unknown Job Id")
                elif number_of_other in blocks and (outcome := pbs_outcome(blocks[number_of_other]))[0] != RUNNING:
                    self.state.update(other, outcome=recorded_outcome(*outcome), reason=outcome[1])
        if number in cache["blocks"]:
            return pbs_outcome(cache["blocks"][number])
        if number in cache["unknown"]:  # never existed, or out of the server's history
            return FAILED, "qstat does not know it (Unknown Job Id)"
        return RUNNING, "qstat said nothing about it; checking again later"

    def _uge_answer(self, jobid: str) -> tuple[str, str]:
        number = job_number(jobid)
        cache = self._fresh_cache("uge", number)
        if cache is None:
            done = self.run(["qstat"], capture_output=True, text=True)
            if done.returncode:
                return RUNNING, f"qstat failed (exit {done.returncode}): {done.stderr.strip()}"
            asked = sorted({number, *(job_number(i) for i in self.state.active() if not is_pbs_id(i))})
            cache = {"scheduler": "uge", "time": self.now(), "asked": asked, "states": uge_states(done.stdout)}
            self.state.store_cache(cache)
        if number in cache["states"]:
            queue_state = cache["states"][number]
            if "E" in queue_state:
                return FAILED, f"in error state {queue_state}: it will never start (see qstat -j {jobid}; qdel it)"
            return RUNNING, ""
        accounted = self.run(["qacct", "-j", jobid], capture_output=True, text=True)
        outcome = qacct_outcome(accounted.stdout) if accounted.returncode == 0 else None
        if outcome:
            return outcome
        record = self.state.get(jobid)
        absent_since = record.get("absent_since") or self.state.update(jobid, absent_since=self.now())["absent_since"]
        waited = self.now() - absent_since
        if waited >= self.options.status_grace_seconds:
            return FAILED, (f"deleted: gone from qstat and without an accounting record for {waited:.0f} s "
                            "(qdel while queued)")
        return RUNNING, "it has left the queue but qacct has no record of it yet"

    def __call__(self, jobid: str) -> str:
        status, why = self._pbs_answer(jobid) if is_pbs_id(jobid) else self._uge_answer(jobid)
        if status == RUNNING:
            if why:
                log.warning("job %s: %s", jobid, why)
            return status
        record = self.state.get(jobid)
        self.state.update(jobid, outcome=recorded_outcome(status, why), reason=why)
        if status == FAILED:
            name, job_log = record.get("name", "?"), record.get("log", "?")
            print(f"cg2real: job {jobid} ({name}) failed: {why}; scheduler log: {job_log}", file=sys.stderr)
        return status


def job_status(jobid: str, run: Runner = subprocess.run, state: JobState | None = None,
               environ: Mapping[str, str] | None = None, now: Callable[[], float] = time.time) -> str:
    """Ask the scheduler that issued `jobid` (or the answer it gave another job moments ago)."""
    options = ClusterOptions.from_environment(os.environ if environ is None else environ)
    return StatusChecker(run, state, options, now)(jobid)
