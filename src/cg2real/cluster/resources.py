"""A cluster job's resources, from the workflow's `cluster` config section.

ABCI hands out whole nodes (ABCI 3.0 `rt_HF`: 8 H200; ABCI 2.0 `rt_F`: 4 V100), so a job's node
count follows from the GPUs it uses. Snakemake carries the result as the job's resources, and
`cg2real.cluster.submit` turns those into qsub flags.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cg2real.errors import DataError


@dataclass(frozen=True)
class Scheduler:
    """One ABCI generation's full node: its GPUs and the resource type that asks for it."""

    gpus_per_node: int
    resource_type: str


SCHEDULERS = {
    "pbs": Scheduler(gpus_per_node=8, resource_type="rt_HF"),  # ABCI 3.0, PBS Professional, H200
    "uge": Scheduler(gpus_per_node=4, resource_type="rt_F"),  # ABCI 2.0, Univa Grid Engine, V100
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


def rule_resources(cluster: Mapping, rule: str, gpus: int, environ: Mapping[str, str]) -> dict[str, int | str]:
    """Snakemake resources of one job of `rule` that uses `gpus` GPUs in all.

    Walltime, memory and resource type come from `cluster.rules.<rule>`, else `cluster.defaults`
    (resource type: the scheduler's full node).
    """
    scheduler = SCHEDULERS[cluster["scheduler"]]
    settings = {**cluster["defaults"], **cluster["rules"].get(rule, {})}
    return {
        "nodes": node_count(gpus, gpus_per_node(cluster)),
        "gpu": gpus,
        "runtime": walltime_minutes(settings["walltime"]),
        "mem_mb": settings["mem_mb"],
        "abci_scheduler": cluster["scheduler"],
        "abci_group": abci_group(cluster, environ),
        "abci_resource_type": settings.get("resource_type", scheduler.resource_type),
    }


def device_gpus(device: str | int) -> int:
    """GPUs a rule's `device` setting uses: `cpu` none, a list like `0,1,2,3` one each, else one."""
    text = str(device).strip()
    return 0 if text == "cpu" else len(text.split(","))


def job_resources(
    cluster: Mapping, rule: str, gpus: int | str | Callable[[object], int], environ: Mapping[str, str]
) -> dict[str, object]:
    """The Snakemake resources of a rule's jobs, as its `resources:` section takes them.

    `gpus`: GPUs one job uses in all: a number, a device setting (`cpu`, `auto`, `0,1`) or a
    function of the wildcards (a CycleGAN run's nproc), in which case every resource is a function
    of the wildcards too.
    """
    if callable(gpus):
        return {
            key: lambda wildcards, key=key: rule_resources(cluster, rule, gpus(wildcards), environ)[key]
            for key in RESOURCE_KEYS
        }
    count = gpus if isinstance(gpus, int) else device_gpus(gpus)
    return rule_resources(cluster, rule, count, environ)
