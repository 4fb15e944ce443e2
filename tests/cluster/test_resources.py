"""Per-rule cluster resources: nodes from GPUs on each ABCI generation, walltime, memory, group."""

import pytest

from cg2real.cluster.resources import (
    RESOURCE_KEYS, device_gpus, format_walltime, node_count, require_group, rule_resources, walltime_minutes,
)
from cg2real.errors import DataError


def cluster(scheduler="pbs", **overrides):
    section = {
        "scheduler": scheduler, "group": None, "gpus_per_node": None, "container": None,
        "defaults": {"walltime": "01:00:00", "mem_mb": 4000},
        "rules": {"train_cyclegan": {"walltime": "72:00:00", "mem_mb": 8000}, "summarize": {"resource_type": "rt_HC"}},
    }
    return {**section, **overrides}


@pytest.mark.parametrize(("scheduler", "nodes", "resource_type"), [("pbs", 64, "rt_HF"), ("uge", 128, "rt_F")])
def test_the_papers_512_gpu_run_asks_for_whole_nodes(scheduler, nodes, resource_type):
    resources = rule_resources(cluster(scheduler), "train_cyclegan", 512, {"ABCI_GROUP": "gaa50000"})
    assert resources == {
        "nodes": nodes, "gpu": 512, "runtime": 72 * 60, "mem_mb": 8000, "abci_scheduler": scheduler,
        "abci_group": "gaa50000", "abci_resource_type": resource_type,
    }
    assert tuple(resources) == RESOURCE_KEYS


def test_small_jobs_take_one_node_and_the_defaults():
    resources = rule_resources(cluster(), "select_bdd100k", 0, {})
    assert (resources["nodes"], resources["runtime"], resources["mem_mb"], resources["abci_group"]) == (1, 60, 4000, "")
    assert rule_resources(cluster(), "summarize", 0, {})["abci_resource_type"] == "rt_HC"
    assert rule_resources(cluster("uge"), "translate", 2, {})["nodes"] == 1


def test_gpus_per_node_override_and_uneven_splits():
    assert rule_resources(cluster(gpus_per_node=2), "train_cyclegan", 8, {})["nodes"] == 4
    assert node_count(12, 8) == 2  # 6 processes per node: the launcher splits evenly
    with pytest.raises(DataError, match="do not split evenly over 2 nodes"):
        node_count(9, 8)


def test_configured_group_wins_over_the_environment():
    assert rule_resources(cluster(group="gcfg"), "x", 0, {"ABCI_GROUP": "genv"})["abci_group"] == "gcfg"
    assert require_group("genv") == "genv"
    with pytest.raises(DataError, match="export ABCI_GROUP=<group>"):
        require_group("")


def test_walltime_round_trip():
    assert walltime_minutes("72:00:00") == 4320
    assert walltime_minutes("00:00:30") == 1  # rounded up, never below what was asked
    assert format_walltime(4320) == "72:00:00" and format_walltime(125) == "02:05:00"
    assert format_walltime(200 * 60) == "200:00:00"
    with pytest.raises(DataError, match="HH:MM:SS"):
        walltime_minutes("3 days")


def test_device_settings_count_gpus():
    assert [device_gpus(d) for d in ("auto", "cuda", "cpu", "0,1,2,3", 0)] == [1, 1, 0, 4, 1]
