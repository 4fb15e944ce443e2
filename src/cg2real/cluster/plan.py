"""The cluster plan of a config before its data exist: `python -m cg2real cluster-plan` (`make plan-paper`).

A dry run stops until every configured data set and weights file is in place (~100 GB for the
paper). To see the plan before downloading anything, this writes a copy of the config whose
missing inputs point to empty stand-ins in a temporary folder, runs Snakemake's dry run under
the ABCI profile with it, and prints every job with its resource type, nodes, walltime and
node-hours, and the totals. The stand-ins change no job, resource or walltime: those follow from
the config alone.

Jobs of one group (the data preparation) are one batch job: its walltime is, as Snakemake
computes it, the sum over the group's dependency levels of the longest job of each level.
Local rules (rules/cluster.smk's `localrules`) run on the login node and cost no node-hours.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cg2real.cluster.resources import format_walltime
from cg2real.errors import DataError
from cg2real.workflow import DATASET_INPUTS

Runner = Callable[..., subprocess.CompletedProcess]


def placeholder_config(config: Mapping, folder: Path) -> tuple[dict, list[str]]:
    """A copy of `config` whose missing inputs are empty stand-ins under `folder`; and their keys."""
    config = copy.deepcopy(dict(config))
    replaced = []

    def stand_in(key: str, kind: str) -> str:
        path = folder / key
        if kind == "folder":
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        replaced.append(key)
        return str(path)

    data = config["data"]
    if data["source"] == "datasets":
        for key, (_, kind) in DATASET_INPUTS.items():
            _, group, name = key.split(".")
            if not Path(data[group][name]).exists():
                data[group][name] = stand_in(key, "folder")
        box_file = data["synthia"]["box_file"]
        if box_file and not Path(box_file).is_file():
            data["synthia"]["box_file"] = stand_in("data.synthia.box_file", "file")
    train = config["detector"]["train"]
    if train["weights"] and not Path(train["weights"]).is_file():
        train["weights"] = stand_in("detector.train.weights", "file")
    metrics = config["metrics"]
    if metrics["require_weights"] and not (metrics["weights"] and Path(metrics["weights"]).is_file()):
        metrics["weights"] = stand_in("metrics.weights", "file")
    return config, replaced


@dataclass
class PlannedJob:
    rule: str
    wildcards: str
    resources: dict[str, str]
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return int(self.resources.get("runtime", 0))


@dataclass
class BatchJob:
    """One submission: a job, or a group of jobs."""

    name: str
    members: list[PlannedJob]
    local: bool = False

    @property
    def resources(self) -> dict[str, str]:
        return self.members[0].resources

    @property
    def nodes(self) -> int:
        return max(int(job.resources.get("nodes", 1)) for job in self.members)

    @property
    def minutes(self) -> int:
        """A group's walltime as Snakemake sums it: the longest job of each dependency level."""
        level: dict[int, int] = {}
        produced = {path: i for i, job in enumerate(self.members) for path in job.outputs}
        depth: dict[int, int] = {}

        def depth_of(i: int) -> int:
            if i not in depth:
                producers = {produced[p] for p in self.members[i].inputs if p in produced} - {i}
                depth[i] = 1 + max((depth_of(j) for j in producers), default=-1)
            return depth[i]

        for i, job in enumerate(self.members):
            d = depth_of(i)
            level[d] = max(level.get(d, 0), job.minutes)
        return sum(level.values())

    @property
    def node_hours(self) -> float:
        return 0.0 if self.local else self.nodes * self.minutes / 60


def parse_dry_run(text: str) -> list[tuple[str | None, PlannedJob]]:
    """(group or None, job) for every job a dry run lists (rules without resources: none)."""
    jobs = []
    group = None
    for block in re.split(r"\n(?= *\[[A-Z][a-z]{2} [^\]\n]*\])", text):
        if match := re.match(r"\[[^\]]*\] Group job (\S+) \(", block):
            group = match.group(1)
            continue
        found = re.search(r"^( *)(?:local)?rule (\w+):\n(.*?)(?=^Shell command|\Z)", block, flags=re.M | re.S)
        if not found:
            continue
        indent, rule, body = found.groups()
        fields = dict(re.findall(r"^ +(\w+): (.*)$", body, flags=re.M))
        if "resources" not in fields or "abci_resource_type" not in fields["resources"]:
            continue
        resources = dict(item.split("=", 1) for item in fields["resources"].split(", ") if "=" in item)
        job = PlannedJob(rule, fields.get("wildcards", ""), resources,
                         fields.get("input", "").split(", "), fields.get("output", "").split(", "))
        jobs.append((group if indent else None, job))
        if not indent:
            group = None
    return jobs


def batch_jobs(jobs: list[tuple[str | None, PlannedJob]], local_rules: set[str]) -> list[BatchJob]:
    batches: dict[str, BatchJob] = {}
    for group, job in jobs:
        if group:
            batches.setdefault(f"group {group}", BatchJob(f"group {group}", [])).members.append(job)
        else:
            name = f"{job.rule} {job.wildcards}".strip()
            batches[f"{name} #{len(batches)}"] = BatchJob(name, [job], local=job.rule in local_rules)
    return sorted(batches.values(), key=lambda batch: (batch.local, batch.name))


def local_rules(cluster_smk: Path) -> set[str]:
    """The rules of the `localrules:` directive in rules/cluster.smk."""
    found = re.search(r"^localrules:\n((?:    \w+,?\n)+)", cluster_smk.read_text(), flags=re.M)
    return set(re.findall(r"\w+", found.group(1))) if found else set()


def table(batches: list[BatchJob]) -> str:
    """The plan, one row per batch job, and totals per resource type."""
    rows = [("job", "type", "nodes", "GPUs", "walltime", "node-hours")]
    totals: dict[str, float] = {}
    for batch in batches:
        kind = "login node" if batch.local else batch.resources.get("abci_resource_type", "?")
        gpus = max(int(job.resources.get("gpu", 0)) for job in batch.members)
        members = f" ({len(batch.members)} jobs)" if len(batch.members) > 1 else ""
        rows.append((batch.name + members, kind, "-" if batch.local else str(batch.nodes), str(gpus),
                     "-" if batch.local else format_walltime(batch.minutes), f"{batch.node_hours:.1f}"))
        totals[kind] = totals.get(kind, 0.0) + batch.node_hours
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    submitted = sum(not batch.local for batch in batches)
    lines.append("")
    lines.append(f"{len(batches)} jobs: {submitted} batch jobs, {len(batches) - submitted} on the login node")
    for kind, hours in sorted(totals.items()):
        if kind != "login node":
            lines.append(f"  {kind}: {hours:.1f} node-hours")
    lines.append(f"  total: {sum(totals.values()):.1f} node-hours (walltimes asked for; ABCI charges the time used)")
    return "\n".join(lines)


def plan(configfile: Path, workdir: Path, extra: list[str], run: Runner = subprocess.run) -> str:
    """Dry-run `configfile` (a complete config, as config/paper.yaml) under the ABCI profile with
    stand-ins for its missing inputs; the plan table, or a DataError with Snakemake's output."""
    config = yaml.safe_load(Path(configfile).read_text())
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    with tempfile.TemporaryDirectory(prefix="cg2real-plan-") as folder:
        planned, replaced = placeholder_config(config, Path(folder) / "stand-ins")
        planned_file = Path(folder) / "config.yaml"
        planned_file.write_text(yaml.safe_dump(planned, sort_keys=False))
        command = [snakemake, "--profile", str(workdir / "profiles" / "abci"), "--configfile", str(planned_file),
                   "--replace-workflow-config", "--dry-run", "--forceall", *extra]
        done = run(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode:
        raise DataError(f"the dry run failed:\n{done.stdout[-4000:]}")
    batches = batch_jobs(parse_dry_run(done.stdout), local_rules(workdir / "rules" / "cluster.smk"))
    notes = [f"stand-ins for the missing {', '.join(replaced)}" if replaced else "every input is in place"]
    notes += [line for line in done.stdout.splitlines() if line.startswith("warning: ")]
    return "\n".join([f"plan of {configfile} ({'; '.join(notes)}):", "", table(batches)])
