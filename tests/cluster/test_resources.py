"""Per-rule cluster resources: the smallest ABCI type that holds a job, nodes from GPUs, ABCI's
limits per type, walltimes (per rule, per CycleGAN run, estimated), memory, group."""

import pytest

from cg2real.cluster.resources import (
    RESOURCE_KEYS, Walltime, device_gpus, format_walltime, job_resources, node_count, require_group,
    resource_type_name, rule_resources, training_walltime, walltime_minutes,
)
from cg2real.errors import DataError

PAPER_RUN = {"n_epochs": 100, "n_epochs_decay": 100, "scale": 4.0}


def cluster(scheduler="pbs", **overrides):
    section = {
        "scheduler": scheduler, "group": None, "gpus_per_node": None, "container": None,
        "cyclegan_walltime": None, "run_walltimes": {},
        "defaults": {"walltime": "01:00:00", "mem_mb": 4000},
        "rules": {"train_cyclegan": {"walltime": "12:00:00", "mem_mb": 8000},
                  "summarize": {"resource_type": {"pbs": "rt_HF", "uge": "rt_C.large"}},
                  "pbs_only": {"resource_type": {"pbs": "rt_HF"}}},
    }
    return {**section, **overrides}


@pytest.mark.parametrize(("scheduler", "nodes", "resource_type"), [("pbs", 64, "rt_HF"), ("uge", 128, "rt_F")])
def test_the_papers_512_gpu_run_asks_for_whole_nodes(scheduler, nodes, resource_type):
    resources = rule_resources(cluster(scheduler), "train_cyclegan", 512, {"ABCI_GROUP": "gaa50000"})
    assert resources == {
        "nodes": nodes, "gpu": 512, "runtime": 12 * 60, "mem_mb": 8000, "abci_scheduler": scheduler,
        "abci_group": "gaa50000", "abci_resource_type": resource_type,
    }
    assert tuple(resources) == RESOURCE_KEYS


@pytest.mark.parametrize(("scheduler", "cpu", "one_gpu", "full"),
                         [("pbs", "rt_HC", "rt_HG", "rt_HF"), ("uge", "rt_C.small", "rt_G.small", "rt_F")])
def test_jobs_ask_for_the_smallest_type_that_holds_them(scheduler, cpu, one_gpu, full):
    types = {gpus: rule_resources(cluster(scheduler), "x", gpus, {}) for gpus in (0, 1, 2, 4)}
    assert [types[g]["abci_resource_type"] for g in (0, 1, 2, 4)] == [cpu, one_gpu, full, full]
    assert {types[g]["nodes"] for g in types} == {1}


def test_a_rule_names_its_type_per_scheduler():
    assert rule_resources(cluster(), "summarize", 0, {})["abci_resource_type"] == "rt_HF"
    assert rule_resources(cluster("uge"), "summarize", 0, {})["abci_resource_type"] == "rt_C.large"
    assert rule_resources(cluster("uge"), "pbs_only", 0, {})["abci_resource_type"] == "rt_C.small"  # its default
    assert resource_type_name("uge", 1, {"pbs": "rt_HF"}) == "rt_G.small"


def test_what_abci_would_reject_stops_the_plan():
    with pytest.raises(DataError, match="walltime 169:00:00 exceeds rt_HC's limit of 168:00:00"):
        rule_resources(cluster(defaults={"walltime": "169:00:00", "mem_mb": 1}), "x", 0, {})
    with pytest.raises(DataError, match="exceeds rt_F's limit of 72:00:00"):
        rule_resources(cluster("uge", defaults={"walltime": "80:00:00", "mem_mb": 1}), "x", 4, {})
    # 128 nodes x 72 h = 9,216 node-hours: over ABCI 2.0's 2,304
    with pytest.raises(DataError, match="9216 node-hours exceeds the limit of 2304"):
        rule_resources(cluster("uge", defaults={"walltime": "72:00:00", "mem_mb": 1}), "x", 512, {})
    with pytest.raises(DataError, match="uses 1 GPUs but 1 x rt_HC has 0"):
        rule_resources(cluster(rules={"x": {"resource_type": {"pbs": "rt_HC"}}}), "x", 1, {})
    with pytest.raises(DataError, match="129 nodes of rt_HF, which allows 128"):
        rule_resources(cluster(), "x", 129 * 8, {})


def test_estimated_walltimes_are_capped_at_what_abci_accepts():
    long = Walltime(500 * 60, derived=True)
    assert rule_resources(cluster("uge"), "x", 4, {}, long)["runtime"] == 72 * 60
    assert rule_resources(cluster("uge"), "x", 512, {}, long)["runtime"] == 2304 * 60 // 128
    with pytest.raises(DataError, match="exceeds"):
        rule_resources(cluster("uge"), "x", 4, {}, Walltime(500 * 60))  # given, not estimated: an error


def test_a_runs_walltime_is_given_or_estimated_from_the_run():
    estimate = {"dataset_size": 4822, "images_per_second": {"pbs": 8.0, "uge": 2.9}, "margin": 1.0,
                "overhead": "00:00:00"}
    assert training_walltime(cluster(), "gpus4", 4, PAPER_RUN) is None  # neither set: the rule's walltime
    given = cluster(run_walltimes={"gpus512": "02:00:00"}, cyclegan_walltime=estimate)
    assert training_walltime(given, "gpus512", 512, PAPER_RUN) == Walltime(120)
    # paper 000's 512 V100s: 200 epochs x ceil(4 x 4822 / 512) = 38 samples at 2.9/s: its 0.73 h
    paper = training_walltime(cluster("uge", cyclegan_walltime=estimate), "gpus512", 512, PAPER_RUN)
    assert paper == Walltime(45, derived=True) and 0.73 * 60 <= paper.minutes
    # 4 processes each see the whole set (scale 4): 200 x 4822 samples
    four = training_walltime(cluster("uge", cyclegan_walltime=estimate), "gpus4", 4, PAPER_RUN)
    assert four.minutes == 5 * -(-(200 * 4822 / 2.9 / 60) // 5)


def test_job_resources_of_functions_are_functions_of_the_wildcards():
    resources = job_resources(cluster(), "train_cyclegan", lambda w: w["n"], {},
                              walltime=lambda w: Walltime(30) if w["n"] == 16 else None)
    assert {key: resources[key]({"n": 16}) for key in ("nodes", "runtime", "abci_resource_type")} == {
        "nodes": 2, "runtime": 30, "abci_resource_type": "rt_HF"}
    assert resources["runtime"]({"n": 1}) == 12 * 60 and resources["abci_resource_type"]({"n": 1}) == "rt_HG"
    assert job_resources(cluster(), "x", "0,1,2,3", {})["gpu"] == 4


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
