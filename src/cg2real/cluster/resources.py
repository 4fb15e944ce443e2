"""A cluster job's resources, from the workflow's `cluster` config section.

A job asks for the smallest ABCI resource type that holds what it uses: no GPU -> the CPU type,
one GPU -> the one-GPU type, more -> whole nodes, ceil(GPUs / GPUs per node) of them (a per-rule
`resource_type` names another type per scheduler). Snakemake carries the result as the job's
resources, and `cg2real.cluster.submit` turns those into qsub flags. What ABCI would reject (too
many nodes for a type, a walltime over the type's limit, a multi-node job over the node-hour
limit) stops the plan here, before anything is submitted.

ABCI's limits, from its user guides (Spot service, the batch service):
- ABCI 3.0 (PBS Professional, 8 H200 per node): https://docs.abci.ai/v3/en/job-execution/
  (source: github.com/aistabci/abci-docs, v3/en/docs/job-execution.md): rt_HF node-exclusive,
  8 GPU / 192 cores, 1-128 nodes; rt_HG 1 GPU / 16 cores and rt_HC 0 GPU / 32 cores, 1 node
  each; elapsed time at most 168:00:00 for all three; multi-node jobs at most 21,504 node-hours.
- ABCI 2.0 (Univa Grid Engine, 4 V100 per node): https://docs.abci.ai/en/job-execution/ (source:
  the same repository, en/docs/job-execution.md; its job service ended on 31 October 2024):
  rt_F node-exclusive, 4 GPU / 40 cores, 1-512 nodes, 72:00:00; rt_G.large (4 GPU) and
  rt_C.large (0 GPU) 1 node, 72:00:00; rt_G.small (1 GPU / 5 cores) and rt_C.small (0 GPU /
  5 cores) 1 node, 168:00:00; multi-node jobs on compute nodes (V) at most 2,304 node-hours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cg2real.errors import DataError


@dataclass(frozen=True)
class ResourceType:
    """One ABCI resource type: what one unit holds and how many units and hours a Spot job may ask."""

    gpus: int
    cpus: int
    max_nodes: int
    max_hours: int


@dataclass(frozen=True)
class Scheduler:
    """One ABCI generation: its node, its resource types and the defaults picked by GPU count."""

    system: str
    guide: str
    gpus_per_node: int
    full: str  # the node-exclusive type, the only one that spans nodes
    one_gpu: str
    cpu_only: str
    max_node_hours: int  # node-time product of a multi-node job
    types: Mapping[str, ResourceType]

    @property
    def resource_type(self) -> str:
        return self.full


SCHEDULERS = {
    "pbs": Scheduler(
        system="ABCI 3.0", guide="https://docs.abci.ai/v3/en/job-execution/", gpus_per_node=8,
        full="rt_HF", one_gpu="rt_HG", cpu_only="rt_HC", max_node_hours=21504,
        types={"rt_HF": ResourceType(8, 192, 128, 168), "rt_HG": ResourceType(1, 16, 1, 168),
               "rt_HC": ResourceType(0, 32, 1, 168)},
    ),
    "uge": Scheduler(
        system="ABCI 2.0", guide="https://docs.abci.ai/en/job-execution/", gpus_per_node=4,
        full="rt_F", one_gpu="rt_G.small", cpu_only="rt_C.small", max_node_hours=2304,
        types={"rt_F": ResourceType(4, 40, 512, 72), "rt_G.large": ResourceType(4, 20, 1, 72),
               "rt_G.small": ResourceType(1, 5, 1, 168), "rt_C.large": ResourceType(0, 20, 1, 72),
               "rt_C.small": ResourceType(0, 5, 1, 168)},
    ),
}
GROUP_VARIABLE = "ABCI_GROUP"
RESOURCE_KEYS = ("nodes", "gpu", "runtime", "mem_mb", "abci_scheduler", "abci_group", "abci_resource_type")


def walltime_minutes(walltime: str) -> int:
    """`HH:MM:SS` as whole minutes (rounded up), the unit of Snakemake's `runtime` resource."""
    try:
        hours, minutes, seconds = (int(part) for part in walltime.split(":"))
    except ValueError:
        raise DataError(f"walltime must be HH:MM:SS, got {walltime!r}") from None
    return hours * 60 + minutes + math.ceil(seconds / 60)


def format_walltime(minutes: int) -> str:
    """Minutes as the `HH:MM:SS` both qsub flavours take (hours may exceed 99)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def abci_group(cluster: Mapping, environ: Mapping[str, str]) -> str:
    """The group charged for the jobs: `cluster.group`, else $ABCI_GROUP, else ''."""
    return cluster["group"] or environ.get(GROUP_VARIABLE, "")


def require_group(group: str) -> str:
    """The group, or a DataError saying how to set it (checked before any job is submitted)."""
    if not group:
        raise DataError(
            f"no ABCI group to charge the jobs to: export {GROUP_VARIABLE}=<group> (e.g. in ~/.bashrc), "
            "or pass --config 'cluster={group: <group>}'; nothing was submitted"
        )
    return group


def gpus_per_node(cluster: Mapping) -> int:
    return cluster["gpus_per_node"] or SCHEDULERS[cluster["scheduler"]].gpus_per_node


def node_count(gpus: int, per_node: int) -> int:
    """Whole nodes for `gpus` processes, one per GPU, split evenly (the launcher needs that)."""
    nodes = max(1, math.ceil(gpus / per_node))
    if gpus % nodes:
        raise DataError(
            f"{gpus} GPU processes do not split evenly over {nodes} nodes of {per_node} GPUs; "
            f"use a multiple of {per_node} (or at most {per_node})"
        )
    return nodes


def resource_type_name(scheduler_name: str, gpus: int, override: Mapping[str, str] | None) -> str:
    """The type a job using `gpus` GPUs asks for: the rule's override for this scheduler, else the
    smallest that holds it (CPU only, one GPU, whole nodes)."""
    if override and override.get(scheduler_name):
        return override[scheduler_name]
    scheduler = SCHEDULERS[scheduler_name]
    return scheduler.cpu_only if gpus == 0 else scheduler.one_gpu if gpus == 1 else scheduler.full


def check_limits(rule: str, scheduler: Scheduler, type_name: str, gpus: int, nodes: int, minutes: int) -> None:
    """A DataError for what ABCI's Spot service would reject (see the module's sources)."""
    where = f"rule {rule} on {scheduler.system}"
    if type_name not in scheduler.types:
        raise DataError(f"{where}: unknown resource type {type_name!r}; known: {', '.join(scheduler.types)} "
                        f"({scheduler.guide})")
    kind = scheduler.types[type_name]
    if nodes > kind.max_nodes:
        raise DataError(f"{where}: {nodes} nodes of {type_name}, which allows {kind.max_nodes} "
                        f"({scheduler.guide}); jobs on several nodes use {scheduler.full}")
    if gpus > kind.gpus * nodes:
        raise DataError(f"{where}: uses {gpus} GPUs but {nodes} x {type_name} has {kind.gpus * nodes}")
    if minutes > kind.max_hours * 60:
        raise DataError(f"{where}: walltime {format_walltime(minutes)} exceeds {type_name}'s limit of "
                        f"{kind.max_hours}:00:00 ({scheduler.guide}); lower it in cluster.rules.{rule}")
    if nodes > 1 and nodes * minutes > scheduler.max_node_hours * 60:
        raise DataError(f"{where}: {nodes} nodes x {format_walltime(minutes)} = {nodes * minutes / 60:.0f} "
                        f"node-hours exceeds the limit of {scheduler.max_node_hours} for a multi-node job "
                        f"({scheduler.guide}); lower its walltime")


def longest_minutes(scheduler: Scheduler, type_name: str, nodes: int) -> int:
    """The longest walltime ABCI accepts for `nodes` x `type_name` (its type's and node-hour limits)."""
    kind = scheduler.types.get(type_name)
    longest = kind.max_hours * 60 if kind else 10**9
    return min(longest, scheduler.max_node_hours * 60 // nodes) if nodes > 1 else longest


@dataclass(frozen=True)
class Walltime:
    """A job's walltime in minutes; `derived` ones are estimates, capped at what ABCI accepts."""

    minutes: int
    derived: bool = False


def rule_resources(
    cluster: Mapping, rule: str, gpus: int, environ: Mapping[str, str], walltime: Walltime | None = None
) -> dict[str, int | str]:
    """Snakemake resources of one job of `rule` that uses `gpus` GPUs in all.

    Walltime (unless given), memory and resource type come from `cluster.rules.<rule>`, else
    `cluster.defaults`; the type defaults to the smallest that holds `gpus` (see the module).
    """
    scheduler = SCHEDULERS[cluster["scheduler"]]
    settings = {**cluster["defaults"], **cluster["rules"].get(rule, {})}
    type_name = resource_type_name(cluster["scheduler"], gpus, settings.get("resource_type"))
    nodes = node_count(gpus, gpus_per_node(cluster)) if type_name == scheduler.full else 1
    minutes = walltime.minutes if walltime else walltime_minutes(settings["walltime"])
    if walltime and walltime.derived:
        minutes = min(minutes, longest_minutes(scheduler, type_name, nodes))
    check_limits(rule, scheduler, type_name, gpus, nodes, minutes)
    return {
        "nodes": nodes,
        "gpu": gpus,
        "runtime": minutes,
        "mem_mb": settings["mem_mb"],
        "abci_scheduler": cluster["scheduler"],
        "abci_group": abci_group(cluster, environ),
        "abci_resource_type": type_name,
    }


def device_gpus(device: str | int) -> int:
    """GPUs a rule's `device` setting uses: `cpu` none, a list like `0,1,2,3` one each, else one."""
    text = str(device).strip()
    return 0 if text == "cpu" else len(text.split(","))


def training_walltime(cluster: Mapping, run: str, nproc: int, settings: Mapping) -> Walltime | None:
    """A CycleGAN run's walltime: `cluster.run_walltimes.<run>` as given, else an estimate from
    `cluster.cyclegan_walltime` (None: neither is set, the rule's walltime applies).

    Estimate: each of the run's `nproc` processes handles min(D, ceil(scale x D / nproc)) samples
    per epoch (cyclegan.sharding, paper 000's sharding; D = `dataset_size`) at `images_per_second`
    (per process, per scheduler), for n_epochs + n_epochs_decay epochs; times `margin`, plus
    `overhead` (start-up, snapshots), rounded up to 5 minutes. Paper 000's 4-GPU run (68.77 h for
    200 x 4,822 steps, docs/scaling.md) is 3.9 images/s per V100.
    """
    if run in cluster["run_walltimes"]:
        return Walltime(walltime_minutes(cluster["run_walltimes"][run]))
    estimate = cluster["cyclegan_walltime"]
    if not estimate:
        return None
    size = estimate["dataset_size"]
    per_process = min(size, math.ceil(settings["scale"] * size / nproc))
    epochs = settings["n_epochs"] + settings["n_epochs_decay"]
    seconds = epochs * per_process / estimate["images_per_second"][cluster["scheduler"]] * estimate["margin"]
    minutes = math.ceil(seconds / 60) + walltime_minutes(estimate["overhead"])
    return Walltime(5 * math.ceil(minutes / 5), derived=True)


Count = int | str | Callable[[object], int]


def job_resources(
    cluster: Mapping, rule: str, gpus: Count, environ: Mapping[str, str],
    walltime: Callable[[object], Walltime | None] | None = None,
) -> dict[str, object]:
    """The Snakemake resources of a rule's jobs, as its `resources:` section takes them.

    `gpus`: GPUs one job uses in all: a number, a device setting (`cpu`, `auto`, `0,1`) or a
    function of the wildcards (a CycleGAN run's nproc). `walltime`: a function of the wildcards
    giving the job's walltime (None: the rule's). With a function, every resource is a function of
    the wildcards too.
    """
    if callable(gpus) or walltime is not None:
        def count(wildcards: object) -> int:
            value = gpus(wildcards) if callable(gpus) else gpus
            return value if isinstance(value, int) else device_gpus(value)

        def resources(wildcards: object) -> dict[str, int | str]:
            return rule_resources(cluster, rule, count(wildcards), environ, walltime(wildcards) if walltime else None)

        return {key: lambda wildcards, key=key: resources(wildcards)[key] for key in RESOURCE_KEYS}
    count = gpus if isinstance(gpus, int) else device_gpus(gpus)
    return rule_resources(cluster, rule, count, environ)
