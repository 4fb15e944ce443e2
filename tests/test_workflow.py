"""The workflow's plan (cg2real.workflow), from config dicts alone: no Snakemake run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config

from cg2real import workflow

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo_config() -> dict:
    """config.yaml alone: what `make demo` runs."""
    return yaml.safe_load((REPO / "config.yaml").read_text())


@pytest.fixture
def config(demo_config) -> dict:
    """config.yaml with config/study.yaml merged in as `--configfile` does (`make study`): every kind of run."""
    update_config(demo_config, yaml.safe_load((REPO / "config/study.yaml").read_text()))
    return demo_config


def test_the_demo_trains_one_distributed_run_and_rows_a_to_c_replicated(demo_config):
    """`make demo` keeps what the demo must show (distributed training, translation, the detector and
    Table 2 with intervals) and leaves the comparisons to `make study`."""
    assert {run: spec["nproc"] for run, spec in demo_config["cyclegan"]["runs"].items()} == {"demo": 2}
    assert demo_config["cyclegan"]["runs"]["demo"]["backend"] != "none"
    assert list(demo_config["conditions"]) == ["a", "b", "c"]
    assert workflow.condition_generator(demo_config["conditions"]["c"]) == ("demo", "full")
    assert demo_config["detector"]["replicates"] >= 3  # a row needs k >= 3 for its interval
    outputs = workflow.single_outputs(demo_config)
    assert "scalability_plot" not in outputs and "augment_study" not in outputs  # one run: nothing to compare
    assert {"table2_md", "table2_csv", "table2_attributes_md", "sample_grid", "fid_plot"} <= set(outputs)


def test_a_detector_training_reserves_its_threads(demo_config):
    assert workflow.detector_threads(demo_config) == demo_config["detector"]["train"]["threads"] == 1
    demo_config["detector"]["train"]["threads"] = None  # ultralytics' own count: 2 cores, as before
    assert workflow.detector_threads(demo_config) == 2


def test_the_study_adds_its_runs_and_rows_after_the_demos(config):
    assert list(config["cyclegan"]["runs"]) == ["demo", "solo", "diffaug"]
    assert list(config["conditions"]) == ["a", "b", "c", "c_compact", "c_diffaug"]  # Table 2's order
    assert workflow.single_outputs(config) == list(workflow.SINGLE_OUTPUTS)
    assert config["cyclegan"]["defaults"]["n_epochs"] == yaml.safe_load((REPO / "config.yaml").read_text())[
        "cyclegan"]["defaults"]["n_epochs"]  # merged over config.yaml, which keeps its other settings


def test_run_settings_apply_a_runs_overrides_to_the_defaults_only(config):
    settings = workflow.run_settings(config, "diffaug")
    assert settings["diffaug_policy"] == "color,translation,cutout" and settings["lambda_bcr"] == 10.0
    assert settings["lr"] == config["cyclegan"]["defaults"]["lr"]
    assert workflow.run_settings(config, "demo") == config["cyclegan"]["defaults"]
    assert config["cyclegan"]["defaults"]["diffaug_policy"] == ""  # the defaults are not mutated


def test_same_training_runs_keeps_only_the_smallest_runs_settings():
    plain, augmented = {"lr": 0.0002, "diffaug_policy": ""}, {"lr": 0.0002, "diffaug_policy": "color"}
    runs = {"demo": (2, plain), "solo": (1, plain), "diffaug": (2, augmented), "big": (8, dict(plain))}
    assert workflow.same_training_runs(runs) == ["solo", "demo", "big"]
    # the baseline is whatever has fewest processes: then the plain runs are the odd ones out
    assert workflow.same_training_runs({**runs, "tiny": (1, augmented), "solo": (2, plain)}) == ["tiny", "diffaug"]
    assert workflow.same_training_runs({}) == []


def test_scaling_runs_count_simulated_processes(config):
    assert workflow.scaling_runs(config) == ["solo", "demo"]
    config["cyclegan"]["runs"]["solo"]["settings"] = {"simulate_processes": 2}
    # solo now simulates 2 processes: as many as demo has, but a different training, so it drops out
    assert workflow.scaling_runs(config) == ["demo"]


def test_conditions_map_to_the_generator_that_translated_their_frames(config):
    conditions = config["conditions"]
    assert workflow.condition_generator(conditions["a"]) is None
    assert workflow.condition_generator(conditions["b"]) is None  # raw CG frames
    assert workflow.condition_generator(conditions["c"]) == ("demo", "full")
    assert workflow.condition_generator(conditions["c_compact"]) == ("demo", "compact")
    assert workflow.compacted_runs(config) == ["demo"]
    assert workflow.condition_of_run(config, "demo") == "c"  # the full generator's row, not c_compact
    assert workflow.condition_of_run(config, "diffaug") == "c_diffaug"
    assert workflow.condition_of_run(config, "solo") is None
    assert workflow.conditions_of_runs(config) == ["c", "c_diffaug"]


def test_detector_set_settings_and_provenance(config):
    assert workflow.detector_set_settings(config, "a") == {"real": 40, "cg": None, "seed": 0}
    assert workflow.detector_set_settings(config, "b") == {"real": 40, "cg": "all", "seed": 0}
    provenance = workflow.condition_provenance(config, "c_diffaug")
    assert provenance["cyclegan"]["nproc"] == 2
    assert provenance["cyclegan"]["settings"]["lambda_bcr"] == 10.0
    assert provenance["data_source"] == "demo" and provenance["detector"] == config["detector"]
    assert provenance["val_frames"] == "all"  # with data_source, what Table 2's ground-truth check reads
    assert "cyclegan" not in workflow.condition_provenance(config, "b")


def test_augment_study_entries_name_each_runs_files(config):
    entries = workflow.augment_study_entries(config, "fid/{run}.csv", "is/{run}.json", "table2/{condition}.json")
    assert [e["run"] for e in entries] == ["demo", "solo", "diffaug"]
    by_run = {e["run"]: e for e in entries}
    assert by_run["demo"]["row"] == "table2/c.json" and by_run["solo"]["row"] is None
    assert by_run["diffaug"]["fid"] == "fid/diffaug.csv" and by_run["diffaug"]["is"] == "is/diffaug.json"
    json.dumps(entries)  # the subcommand reads it as JSON


def test_settings_json_drops_the_keys_that_arrive_as_inputs(config):
    settings = json.loads(workflow.settings_json(config, "data", "synthia", without=("root", "box_file")))
    assert set(settings) == {"layout", "person_classes", "min_component_pixels"}


def test_missing_inputs_name_their_key_and_file(config, tmp_path):
    config["data"]["synthia"]["root"] = str(tmp_path)
    config["data"]["synthia"]["box_file"] = str(tmp_path / "boxes.csv")
    problems = workflow.missing_dataset_inputs(config["data"])
    assert any(p.startswith("  data.bdd100k.train_labels = ") for p in problems)
    assert not any("data.synthia.root" in p for p in problems)  # the folder exists
    config["data"]["bdd100k"]["val_labels"] = str(tmp_path)  # a folder of per-image label files
    assert not any("val_labels" in p for p in workflow.missing_dataset_inputs(config["data"]))
    assert any("data.synthia.box_file" in p for p in problems)

    config["conditions"]["x"] = {"real": 1, "cg": {"source": "compact", "run": "nope", "count": 1}}
    assert workflow.unknown_condition_runs(config) == [
        "conditions.x.cg.run = 'nope' is not a CycleGAN run; known: demo, solo, diffaug"
    ]

    looked = []
    assert workflow.missing_weight_files(config, lambda: looked.append(1) or tmp_path) == []
    assert looked == []  # not required: pytorch-fid's place is not even looked up
    config["metrics"]["require_weights"] = True
    config["detector"]["train"].update(init="imagenet_backbone", weights=str(tmp_path / "darknet53.conv.74"))
    problems = workflow.missing_weight_files(config, lambda: tmp_path / "w.pth")
    assert len(problems) == 2 and "detector.train.weights" in problems[0]
    assert "init: imagenet_backbone starts from there" in problems[0]
    assert problems[1].startswith("  metrics.weights = ") and "put pytorch-fid's w.pth there" in problems[1]


def test_config_problems_gather_every_reason_to_stop(config, tmp_path):
    assert workflow.config_problems(config, lambda: tmp_path / "w.pth") == []  # the demo config plans
    config["data"]["source"] = "datasets"
    config["conditions"]["x"] = {"real": 1, "cg": {"source": "cyclegan", "run": "nope", "count": 1}}
    problems = workflow.config_problems(config, lambda: tmp_path / "w.pth")
    assert problems[0] == "data.source is 'datasets' but data set files are missing:"
    assert "(set data.source: demo to run on the built-in demo data)" in problems
    assert problems[-1].startswith("conditions.x.cg.run = 'nope'")


def test_replicates_default_to_one_and_shift_the_detector_seed(config):
    assert workflow.replicates(config) == list(range(config["detector"]["replicates"]))
    without = {**config, "detector": {k: v for k, v in config["detector"].items() if k != "replicates"}}
    assert workflow.replicates(without) == [0]
    base = config["detector"]["train"]
    assert workflow.replicate_train_settings(config, "0") == base  # r = 0: today's training, unchanged
    third = workflow.replicate_train_settings(config, 2)
    assert third["seed"] == base["seed"] + 2 and {**third, "seed": base["seed"]} == base
    assert json.dumps(workflow.replicate_train_settings(config, 0)) == json.dumps(base)  # same --settings


def test_final_outputs_name_every_runs_figures_and_every_conditions_row(config):
    paths = {"crops": "crops/{dataset}", "yolo": "yolo/{dataset}", "coco": "coco/{dataset}",
             "summary": "summary/{dataset}", "box_heights": "box_heights/{dataset}",
             "cyclegan_generator": "G/{run}", "cyclegan_metrics": "metrics/{run}", "cyclegan_losses": "losses/{run}",
             "translated": "translated/{run}/{generator}", "compact_summary": "compact/{run}",
             "compact_fid": "compact_fid/{run}",
             "table2_row": "row/{condition}", **{key: key for key in workflow.SINGLE_OUTPUTS}}
    config["conditions"] = {"a": {"real": 4}, "c": {"real": 4, "cg": {"source": "compact", "run": "demo", "count": 2}}}
    outputs = workflow.final_outputs(config, paths)
    assert workflow.data_stage_outputs(paths) == outputs[:14]
    assert {"crops/cg", "crops/real_train", "yolo/real_val", "box_heights/cg"} <= set(outputs)
    assert "crops/real_val" not in outputs  # validation frames are not a CycleGAN domain
    runs = list(config["cyclegan"]["runs"])
    assert {f"losses/{run}" for run in runs} | {f"translated/{run}/full" for run in runs} <= set(outputs)
    assert [o for o in outputs if o.endswith("/compact")] == ["translated/demo/compact"]
    assert {"compact/demo", "row/a", "row/c", "detector_plots", "table2_md"} <= set(outputs)
    assert [o for o in outputs if o.startswith("compact_fid/")] == ["compact_fid/demo"]  # compacted runs only
    assert len(outputs) == len(set(outputs))
