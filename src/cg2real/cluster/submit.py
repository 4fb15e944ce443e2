"""Submit one Snakemake jobscript with qsub: PBS Professional (ABCI 3.0) or Grid Engine (ABCI 2.0).

Snakemake's cluster-generic executor calls `python -m cg2real cluster-submit <jobscript>` and
takes the first line printed as the job id. Everything the qsub flags need is in the job's
resources (set per rule by `job_resources` in rules/common.smk), which Snakemake writes into the
jobscript's `# properties = {...}` header; so the profile's command needs no per-rule template.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from snakemake.utils import read_job_properties

from cg2real.cluster.resources import RESOURCE_KEYS, SCHEDULERS, format_walltime, require_group
from cg2real.errors import DataError

Runner = Callable[..., subprocess.CompletedProcess]


@dataclass(frozen=True)
class JobRequest:
    """What one qsub asks for."""

    scheduler: str
    group: str
    resource_type: str
    nodes: int
    runtime_minutes: int
    name: str
    log: Path

    @classmethod
    def from_properties(cls, properties: Mapping) -> JobRequest:
        """From the jobscript's properties; a rule without `job_resources` gets a clear error."""
        resources = properties["resources"]
        missing = [key for key in RESOURCE_KEYS if key not in resources]
        if missing:
            raise DataError(
                f"rule {properties['rule']} lacks the cluster resources {', '.join(missing)}: give it "
                f"`resources: **job_resources(\"{properties['rule']}\")` (rules/common.smk)"
            )
        if resources["abci_scheduler"] not in SCHEDULERS:
            raise DataError(f"unknown scheduler {resources['abci_scheduler']!r}; known: {', '.join(SCHEDULERS)}")
        return cls(
            scheduler=resources["abci_scheduler"],
            group=require_group(resources["abci_group"]),
            resource_type=resources["abci_resource_type"],
            nodes=int(resources["nodes"]),
            runtime_minutes=int(resources["runtime"]),
            name=job_name(properties["rule"], properties.get("wildcards", {})),
            log=job_log(properties),
        )


def job_name(rule: str, wildcards: Mapping[str, str]) -> str:
    """`rule.wildcard-values`, in the characters both schedulers accept in a job name."""
    name = ".".join([rule, *map(str, wildcards.values())])
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64]


def job_log(properties: Mapping) -> Path:
    """The scheduler's log of the job (the job's own Snakemake output), beside the rule's log.

    `logs/train_cyclegan/demo.log` (the command's output) gets `logs/train_cyclegan/demo.job.log`;
    a rule without a log gets `logs/cluster/<rule>.<jobid>.log`.
    """
    logs = properties.get("log") or []
    if logs:
        rule_log = Path(logs[0]).absolute()
        return rule_log.with_name(rule_log.name.removesuffix(".log") + ".job.log")
    return Path("logs", "cluster", f"{properties['rule']}.{properties['jobid']}.log").absolute()


def qsub_command(request: JobRequest, jobscript: Path) -> list[str]:
    """The qsub argv: group, nodes and walltime in each scheduler's own flags.

    `-V` hands the submitting shell's environment (the venv on PATH, loaded modules) to the job,
    which runs `python -m cg2real` itself; output and errors go to one log file.
    """
    walltime = format_walltime(request.runtime_minutes)
    common = ["-N", request.name, "-o", str(request.log), "-V"]
    if request.scheduler == "pbs":
        return ["qsub", "-P", request.group, "-q", request.resource_type, "-l", f"select={request.nodes}",
                "-l", f"walltime={walltime}", *common, "-j", "oe", str(jobscript)]
    return ["qsub", "-g", request.group, "-l", f"{request.resource_type}={request.nodes}",
            "-l", f"h_rt={walltime}", *common, "-j", "y", "-cwd", "-terse", str(jobscript)]


def submit(jobscript: Path, run: Runner = subprocess.run) -> str:
    """Submit the jobscript; returns the scheduler's job id (PBS `<id>.<server>`, Grid Engine `<id>`)."""
    properties = read_job_properties(str(jobscript))
    if properties is None:
        raise DataError(f"{jobscript} has no '# properties' line: not a Snakemake jobscript")
    request = JobRequest.from_properties(properties)
    request.log.parent.mkdir(parents=True, exist_ok=True)
    done = run(qsub_command(request, jobscript), capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        raise DataError(f"qsub failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return lines[0].strip()
