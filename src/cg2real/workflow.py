"""The workflow's plan as pure functions of the validated config: what runs, with what settings.

`rules/common.smk` keeps validation, the path table and thin input functions; every decision that
can be made from the config alone lives here, where it is unit-tested without Snakemake: the
settings of a CycleGAN run, which runs form the scaling series, which generator a Table 2
condition's CG frames come from, what a row records as its provenance, the augmentation study's
manifest, and which configured input files are missing.

Nothing here imports Snakemake, torch or another stage: the workflow imports this while it parses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Config = Mapping[str, Any]

# conditions.<name>.cg.source -> the generator that translated the frames (translate/{run}/{generator})
TRANSLATORS = {"cyclegan": "full", "compact": "compact"}

DATASETS = ("real_train", "real_val", "cg")  # the data stage's sets: detector sets, ground truth, summaries
CROPPED_DATASETS = ("real_train", "cg")  # the CycleGAN domains B and A
# PATHS keys of the data stage's outputs per dataset, and of the workflow's outputs made once
DATASET_OUTPUTS = ("yolo", "coco", "summary", "box_heights")
SINGLE_OUTPUTS = ("table2_csv", "table2_md", "fid_plot", "scalability_plot", "sample_grid", "augment_study",
                  "detector_plots", "table2_attributes_md")

# data.<group>.<key>: (what the user puts there, what it may be: "folder", or "file or folder")
DATASET_INPUTS = {
    "data.bdd100k.train_images": ("BDD100K train frames, e.g. bdd100k/images/100k/train/*.jpg", "folder"),
    "data.bdd100k.train_labels": (
        "BDD100K train labels: bdd100k_labels_images_train.json, det_20/det_train.json, or the folder of "
        "per-image labels/100k/train/*.json", "file or folder"),
    "data.bdd100k.val_images": ("BDD100K val frames, e.g. bdd100k/images/100k/val/*.jpg", "folder"),
    "data.bdd100k.val_labels": (
        "BDD100K val labels: bdd100k_labels_images_val.json, det_20/det_val.json, or the folder of "
        "per-image labels/100k/val/*.json", "file or folder"),
    "data.synthia.root": ("SYNTHIA-RAND-CVPR16 root with RGB/ and GTTXT/ (or GT/LABELS/)", "folder"),
}


def section(config: Config, *keys: str) -> Any:
    """The config value at `keys` (config["a"]["b"] for keys a, b)."""
    value: Any = config
    for key in keys:
        value = value[key]
    return value


def settings_json(config: Config, *keys: str, without: tuple[str, ...] = ()) -> str:
    """The config section at `keys` as the JSON a subcommand's --settings reads.

    `without` drops keys that reach the subcommand otherwise (paths that are the rule's inputs).
    """
    values = section(config, *keys)
    return json.dumps({key: value for key, value in values.items() if key not in without})


def run_settings(config: Config, run: str) -> dict[str, Any]:
    """A CycleGAN run's settings: cyclegan.defaults with the run's overrides applied."""
    cyclegan = config["cyclegan"]
    return {**cyclegan["defaults"], **cyclegan["runs"][run].get("settings", {})}


def same_training_runs(runs: dict[str, tuple[int, dict]]) -> list[str]:
    """Runs to put on one scaling curve: those with exactly the settings of the run with fewest processes.

    `runs`: name -> (processes, resolved settings). A speed-up only means something between runs
    that do the same work per image, so a run that trains differently (say with augmentation) is
    left out rather than drawn as a point of the curve; backend and process count may differ.
    Simulated processes count as processes but are a setting, so a simulated run joins only a curve
    of runs simulating as many. Returned in order of processes (ties: as given).
    """
    if not runs:
        return []
    base = min(runs, key=lambda name: runs[name][0])
    same = [name for name in runs if runs[name][1] == runs[base][1]]
    return sorted(same, key=lambda name: runs[name][0])


def scaling_runs(config: Config) -> list[str]:
    """The runs of the scalability figure and table: the same training as the run with fewest processes."""
    runs = config["cyclegan"]["runs"]
    return same_training_runs({
        run: (runs[run]["nproc"] * run_settings(config, run)["simulate_processes"], run_settings(config, run))
        for run in runs
    })


def condition_generator(condition: Mapping[str, Any]) -> tuple[str, str] | None:
    """(run, "full" or "compact") of the generator that translated a condition's CG frames; None for
    a condition without CG frames or with raw ones."""
    cg = condition.get("cg")
    if not cg or cg["source"] == "raw":
        return None
    return cg["run"], TRANSLATORS[cg["source"]]


def compacted_runs(config: Config) -> list[str]:
    """CycleGAN runs whose compact generator some condition uses."""
    used = (condition_generator(c) for c in config["conditions"].values())
    return sorted({run for run, generator in filter(None, used) if generator == "compact"})


def condition_of_run(config: Config, run: str) -> str | None:
    """The first Table 2 condition trained on frames translated by the run's full generator, if any."""
    for name, condition in config["conditions"].items():
        if condition_generator(condition) == (run, "full"):
            return name
    return None


def conditions_of_runs(config: Config) -> list[str]:
    """The conditions that `condition_of_run` names, one per run that has one, in run order."""
    return [c for run in config["cyclegan"]["runs"] if (c := condition_of_run(config, run))]


def condition_cg_frames(config: Config, condition: str, raw: str, translated: str) -> str | None:
    """The YOLO folder a condition draws its CG frames from: `raw`, or the `translated` pattern
    ({run}, {generator}) of the generator that translated them; None without CG frames."""
    spec = config["conditions"][condition]
    if not spec.get("cg"):
        return None
    generator = condition_generator(spec)
    return translated.format(run=generator[0], generator=generator[1]) if generator else raw


def detector_set_settings(config: Config, condition: str) -> dict[str, Any]:
    """What `detector-set` draws for a condition: real and CG frame counts and the sample seed."""
    spec = config["conditions"][condition]
    cg = spec.get("cg")
    return {"real": spec["real"], "cg": cg["count"] if cg else None, "seed": config["detector"]["sample_seed"]}


def condition_provenance(config: Config, condition: str) -> dict[str, Any]:
    """What a Table 2 row was made with: the condition, the detector and, if any, the CycleGAN run."""
    spec = config["conditions"][condition]
    provenance = {"condition": spec, "detector": config["detector"], "data_source": config["data"]["source"],
                  "val_frames": config["data"]["export"]["val_frames"]}  # all: the full split, as the paper's
    generator = condition_generator(spec)
    if generator:
        run = generator[0]
        provenance["cyclegan"] = {**config["cyclegan"]["runs"][run], "settings": run_settings(config, run)}
    return provenance


def augment_study_entries(config: Config, fid_curve: str, inception_score: str, row: str) -> list[dict]:
    """The list `augment-study` reads: per run its FID curve, IS, settings and Table 2 row (or None).

    `fid_curve`, `inception_score` and `row` are the path table's patterns ({run}, {condition}).
    """
    entries = []
    for run in config["cyclegan"]["runs"]:
        condition = condition_of_run(config, run)
        entries.append({
            "run": run,
            "fid": fid_curve.format(run=run),
            "is": inception_score.format(run=run),
            "settings": run_settings(config, run),
            "row": row.format(condition=condition) if condition else None,
        })
    return entries


def bdd100k_inputs(data: Mapping[str, Any], split: str, demo: dict[str, str]) -> dict[str, str]:
    """Label file and image folder of one BDD100K split: `demo`'s when the source is the demo data."""
    if data["source"] == "demo":
        return demo
    return {"labels": data["bdd100k"][f"{split}_labels"], "images": data["bdd100k"][f"{split}_images"]}


def synthia_inputs(data: Mapping[str, Any], demo_root: str) -> dict[str, str]:
    """The SYNTHIA root (`demo_root` for the demo data) and, if configured, the hand-made box file."""
    inputs = {"root": demo_root if data["source"] == "demo" else data["synthia"]["root"]}
    if data["synthia"]["box_file"]:
        inputs["box_file"] = data["synthia"]["box_file"]
    return inputs


def missing_dataset_inputs(data: Mapping[str, Any]) -> list[str]:
    """One line per configured data set path that is missing, naming its key and what belongs there."""
    problems = []
    for key, (what, kind) in DATASET_INPUTS.items():
        _, group, name = key.split(".")
        path = Path(data[group][name])
        if not (path.is_dir() or (kind == "file or folder" and path.is_file())):
            problems.append(f"  {key} = {path}: missing; put the {what} there, or set the key")
    box_file = data["synthia"]["box_file"]
    if box_file and not Path(box_file).is_file():
        problems.append(f"  data.synthia.box_file = {box_file}: file not found")
    return problems


def unknown_condition_runs(config: Config) -> list[str]:
    """One line per condition that names a CycleGAN run that is not configured."""
    runs = list(config["cyclegan"]["runs"])
    return [
        f"conditions.{name}.cg.run = {generator[0]!r} is not a CycleGAN run; known: {', '.join(runs)}"
        for name, condition in config["conditions"].items()
        if (generator := condition_generator(condition)) and generator[0] not in runs
    ]


def missing_weight_files(config: Config, inception_weights: Callable[[], Path]) -> list[str]:
    """One line per configured weights file that is missing (nothing is downloaded).

    `inception_weights()`: where the metrics stage will look (metrics.weights, or pytorch-fid's own
    place, which takes torch to find); called only when metrics.require_weights is true.
    """
    problems = []
    train = config["detector"]["train"]
    if train["weights"] and not Path(train["weights"]).is_file():
        problems.append(f"  detector.train.weights = {train['weights']}: missing; put the weights that "
                        f"detector.train.init: {train['init']} starts from there (the paper's: darknet53.conv.74), "
                        "or set init: scratch with weights: null to train from scratch")
    if config["metrics"]["require_weights"] and not (weights := inception_weights()).is_file():
        problems.append(f"  metrics.weights = {weights}: missing; put pytorch-fid's {weights.name} "
                        "there, or set metrics.require_weights: false to report FID and IS as not computed")
    return problems


def config_problems(config: Config, inception_weights: Callable[[], Path]) -> list[str]:
    """Everything that stops the workflow before it plans, as the lines of one message (empty: none)."""
    problems = []
    if config["data"]["source"] == "datasets" and (missing := missing_dataset_inputs(config["data"])):
        problems += ["data.source is 'datasets' but data set files are missing:", *missing,
                     "(set data.source: demo to run on the built-in demo data)"]
    problems += unknown_condition_runs(config)
    if missing := missing_weight_files(config, inception_weights):
        problems += ["weights files are missing (nothing is downloaded):", *missing]
    return problems


def replicates(config: Config) -> list[int]:
    """The replicate numbers r = 0..k-1 of every condition (detector.replicates, default 1)."""
    return list(range(config["detector"].get("replicates", 1)))


def replicate_train_settings(config: Config, replicate: int | str) -> dict[str, Any]:
    """detector.train for replicate r: its seed is train.seed + r (r = 0 is the configured training)."""
    train = config["detector"]["train"]
    return {**train, "seed": train["seed"] + int(replicate)}


def detector_threads(config: Config) -> int:
    """Cores a detector training reserves: detector.train.threads, or 2 where ultralytics picks its
    own count (min(8, cores - 1) threads; the data-loader workers take the rest)."""
    return config["detector"]["train"].get("threads") or 2


def data_stage_outputs(paths: Mapping[str, str]) -> list[str]:
    """Everything the data stage makes (`snakemake data`), from the workflow's path table."""
    crops = [paths["crops"].format(dataset=dataset) for dataset in CROPPED_DATASETS]
    return crops + [paths[key].format(dataset=dataset) for key in DATASET_OUTPUTS for dataset in DATASETS]


def final_outputs(config: Config, paths: Mapping[str, str]) -> list[str]:
    """The targets of `rule all`: every stage's outputs for the configured runs and conditions
    (a job's other outputs, such as a table's HTML twin, come along with these)."""
    runs, compacted = list(config["cyclegan"]["runs"]), compacted_runs(config)
    per_run = ("cyclegan_generator", "cyclegan_metrics", "cyclegan_losses")
    return [
        *data_stage_outputs(paths),
        *(paths[key].format(run=run) for key in per_run for run in runs),
        *(paths["translated"].format(run=run, generator="full") for run in runs),
        *(paths["translated"].format(run=run, generator="compact") for run in compacted),
        *(paths["compact_summary"].format(run=run) for run in compacted),
        *(paths["compact_fid"].format(run=run) for run in compacted),
        *(paths["table2_row"].format(condition=condition) for condition in config["conditions"]),
        *(paths[key] for key in single_outputs(config)),
    ]


def single_outputs(config: Config) -> list[str]:
    """The SINGLE_OUTPUTS keys this config makes. Two compare runs and are made only with two to
    compare: the scalability figure (process counts of one training) and the augmentation study
    (config.yaml's demo has one run; config/study.yaml adds the others)."""
    compared = {"scalability_plot": len(scaling_runs(config)), "augment_study": len(config["cyclegan"]["runs"])}
    return [key for key in SINGLE_OUTPUTS if key not in compared or compared[key] >= 2]
