"""Submit one Snakemake jobscript with qsub: PBS Professional (ABCI 3.0) or Grid Engine (ABCI 2.0).

Snakemake's cluster-generic executor calls `python -m cg2real cluster-submit <jobscript>` and
takes the first line printed as the job id. Everything the qsub flags need is in the job's
resources (set per rule by `job_resources` in rules/cluster.smk), which Snakemake writes into the
jobscript's `# properties = {...}` header, and in the run's cluster settings
(`cg2real.cluster.options`, from config's `cluster` section).

The flags, as ABCI's guides give them (sources in `cg2real.cluster.resources`):
- ABCI 3.0: `qsub -P <group> -q <type> -l select=<nodes>[:mpiprocs=<per node>] -l walltime=...`;
  `-v USE_SSH=1` lets a job's rt_HF nodes ssh to each other (https://docs.abci.ai/v3/en/job-execution/,
  "extended options"); `mpiprocs` is how many MPI processes a node runs (ABCI's MPI page,
  https://docs.abci.ai/v3/en/mpi/, which starts them with `mpirun -hostfile $PBS_NODEFILE`).
- ABCI 2.0: `qsub -g <group> -l <type>=<nodes> -l h_rt=...`; `-l USE_SSH=1 -v SSH_PORT=<port>`
  (2200-2299) enables ssh between a job's nodes (https://docs.abci.ai/en/appendix/ssh-access/).
  ABCI's horovod recipe starts processes with `mpirun -hostfile $SGE_JOB_HOSTLIST` and no ssh
  (https://docs.abci.ai/en/apps/pytorch/).

A job does not get the login shell's whole environment (`qsub -V` would copy every variable,
tokens included): only `cluster.job_environment` (`-v NAME`, the value qsub sees), and the shell
lines of `cluster.job_prelude` run at the top of the job script (ABCI 3.0 sets only compile-time
variables when a module is loaded on a login node: load the runtime's modules in the job).
A rejected submission is remembered and not sent again on Snakemake's retry, nor is a job whose
earlier attempt the user deleted (qdel); each attempt writes a log of its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cg2real.cluster.options import ClusterOptions
from cg2real.cluster.resources import RESOURCE_KEYS, SCHEDULERS, format_walltime, require_group
from cg2real.cluster.state import JobState
from cg2real.errors import DataError

Runner = Callable[..., subprocess.CompletedProcess]
CONTROLLER_VARIABLE = "CG2REAL_CONTROLLER"  # read by `cg2real launch` (cluster/cli.py) in the job
QSUB_MISSING = "qsub not found: run from an ABCI login node"
PRELUDE_MARK = "# cg2real: cluster.job_prelude"


def start_problem(group: str, which: Callable[[str], str | None] = shutil.which) -> str | None:
    """Why a cluster run must stop before submitting anything (no group, no qsub), or None."""
    try:
        require_group(group)
    except DataError as err:
        return str(err)
    return None if which("qsub") else QSUB_MISSING


def read_job_properties(jobscript: Path) -> dict | None:
    """The `# properties = {...}` header Snakemake writes into every jobscript."""
    for line in Path(jobscript).read_text().splitlines():
        if match := re.match(r"# properties = (.*)", line):
            return json.loads(match.group(1))
    return None


@dataclass(frozen=True)
class JobRequest:
    """What one qsub asks for."""

    scheduler: str
    group: str
    resource_type: str
    nodes: int
    gpus: int
    runtime_minutes: int
    name: str
    log_stem: Path  # the job log without its attempt number

    @classmethod
    def from_properties(cls, properties: Mapping, logs_dir: str = "logs") -> JobRequest:
        """From the jobscript's properties; a rule without `job_resources` gets a clear error."""
        resources = properties["resources"]
        what = properties.get("rule") or f"group {properties.get('groupid')}"
        missing = [key for key in RESOURCE_KEYS if key not in resources]
        if missing:
            raise DataError(
                f"{what} lacks the cluster resources {', '.join(missing)}: give it "
                f"`resources: **job_resources(\"{properties.get('rule', '<rule>')}\")` (rules/cluster.smk)"
            )
        if resources["abci_scheduler"] not in SCHEDULERS:
            raise DataError(f"unknown scheduler {resources['abci_scheduler']!r}; known: {', '.join(SCHEDULERS)}")
        return cls(
            scheduler=resources["abci_scheduler"],
            group=require_group(resources["abci_group"]),
            resource_type=resources["abci_resource_type"],
            # a group's resources are summed over its parallel jobs: its jobs share one node
            nodes=1 if properties.get("type") == "group" else int(resources["nodes"]),
            gpus=int(resources["gpu"]),
            runtime_minutes=int(resources["runtime"]),
            name=job_name(properties),
            log_stem=job_log_stem(properties, logs_dir),
        )

    @property
    def processes_per_node(self) -> int:
        return max(1, self.gpus // self.nodes)


def job_name(properties: Mapping) -> str:
    """`rule.wildcard-values` (a group job: its group's name), in characters both schedulers accept."""
    if properties.get("type") == "group":
        name = str(properties["groupid"])
    else:
        name = ".".join([properties["rule"], *map(str, properties.get("wildcards", {}).values())])
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64]


def job_log_stem(properties: Mapping, logs_dir: str = "logs") -> Path:
    """The scheduler's log of the job beside the rule's log, less its attempt: `logs/x/demo.log`
    gives `logs/x/demo.job`; a job without a log (a group job) `<logs_dir>/cluster/<name>.job`."""
    logs = properties.get("log") or []
    if logs:
        rule_log = Path(logs[0]).absolute()
        return rule_log.with_name(rule_log.name.removesuffix(".log") + ".job")
    return Path(logs_dir, "cluster", f"{job_name(properties)}.{str(properties['jobid'])[:8]}.job").absolute()


def attempt_log(stem: Path, attempt: int) -> Path:
    """The log of one attempt: `demo.job1.log`, `demo.job2.log`, ... (a retry never overwrites one)."""
    return stem.with_name(f"{stem.name}{attempt}.log")


def environment_list(request: JobRequest, options: ClusterOptions, environ: Mapping[str, str]) -> list[str]:
    """The `-v` items: the configured variables that are set (qsub copies their values), and what
    the launcher of a multi-node job needs."""
    items = [name for name in options.job_environment if name in environ]
    if request.nodes > 1:
        items.append(f"{CONTROLLER_VARIABLE}={'mpi' if options.multinode == 'mpi' else 'gloo'}")
        if options.multinode == "ssh":
            items.append("USE_SSH=1" if request.scheduler == "pbs" else f"SSH_PORT={options.ssh_port}")
    return items


def qsub_command(request: JobRequest, jobscript: Path, log: Path, options: ClusterOptions = ClusterOptions(),
                 environ: Mapping[str, str] | None = None) -> list[str]:
    """The qsub argv: group, resource type, nodes, walltime and the multi-node launch in each
    scheduler's own flags; output and errors go to one log file."""
    environ = os.environ if environ is None else environ
    walltime = format_walltime(request.runtime_minutes)
    variables = environment_list(request, options, environ)
    exported = ["-v", ",".join(variables)] if variables else []
    common = ["-N", request.name, "-o", str(log)]
    if request.scheduler == "pbs":
        select = f"select={request.nodes}"
        if request.nodes > 1 and options.multinode == "mpi":
            select += f":mpiprocs={request.processes_per_node}"
        return ["qsub", "-P", request.group, "-q", request.resource_type, "-l", select,
                "-l", f"walltime={walltime}", *common, "-j", "oe", *exported, str(jobscript)]
    ssh = ["-l", "USE_SSH=1"] if request.nodes > 1 and options.multinode == "ssh" else []
    return ["qsub", "-g", request.group, "-l", f"{request.resource_type}={request.nodes}",
            "-l", f"h_rt={walltime}", *ssh, *common, "-j", "y", "-cwd", "-terse", *exported, str(jobscript)]


def add_prelude(jobscript: Path, prelude: tuple[str, ...]) -> None:
    """Put the prelude's lines after the jobscript's header (Snakemake rewrites the script before
    every attempt, so they are added once)."""
    if not prelude:
        return
    lines = jobscript.read_text().splitlines(keepends=True)
    if any(line.startswith(PRELUDE_MARK) for line in lines):
        return
    header = 2 if len(lines) > 1 and lines[1].startswith("# properties") else 1
    block = [f"{PRELUDE_MARK}\n", *(f"{line}\n" for line in prelude)]
    jobscript.write_text("".join(lines[:header] + block + lines[header:]))


def refusal(state: JobState, jobscript: Path) -> str | None:
    """Why this job script must not be submitted again in this run, if it must not."""
    if message := state.rejection(jobscript):
        return f"not resubmitted: qsub rejected this job before ({message})"
    for record in state.earlier(jobscript):
        if record.get("outcome") == "deleted":
            return f"not resubmitted: its job {record['jobid']} was deleted ({record.get('reason', 'qdel')})"
    return None


def submit(jobscript: Path, run: Runner = subprocess.run, environ: Mapping[str, str] | None = None,
           state: JobState | None = None) -> str:
    """Submit the jobscript; returns the scheduler's job id (PBS `<id>.<server>`, Grid Engine `<id>`)."""
    environ = os.environ if environ is None else environ
    state = state or JobState()
    options = ClusterOptions.from_environment(environ)
    properties = read_job_properties(jobscript)
    if properties is None:
        raise DataError(f"{jobscript} has no '# properties' line: not a Snakemake jobscript")
    if reason := refusal(state, jobscript):
        raise DataError(reason)
    request = JobRequest.from_properties(properties, options.logs_dir)
    attempt = len(state.earlier(jobscript)) + 1
    log = attempt_log(request.log_stem, attempt)
    log.parent.mkdir(parents=True, exist_ok=True)
    add_prelude(jobscript, options.job_prelude)
    try:
        done = run(qsub_command(request, jobscript, log, options, environ), capture_output=True, text=True)
    except FileNotFoundError:
        state.reject(jobscript, QSUB_MISSING)
        raise DataError(QSUB_MISSING) from None
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        message = f"qsub failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
        state.reject(jobscript, message)
        raise DataError(f"{message}; not submitted again on a retry")
    jobid = lines[0].strip()
    state.submitted(jobid, jobscript=str(Path(jobscript).absolute()), log=str(log), name=request.name,
                    attempt=attempt)
    return jobid
