# Config validation, the one table of output paths, input functions, cluster job settings. No rules here.

import json
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from cg2real.cluster.resources import RESOURCE_KEYS, abci_group, device_gpus, require_group, rule_resources
from cg2real.report.scalability import same_training_runs


# Defaults are not filled in: config.yaml is complete, and filling would turn an empty override
# block (cyclegan.runs.<run>.settings) into a full set of reference values.
validate(config, schema="../schemas/config.schema.yaml", set_default=False)

DATA = config["data"]
RESULTS = config["results_dir"]
LOGS = config["logs_dir"]
DEMO_DIR = f"{RESULTS}/demo"

# Every output path of the workflow, built here and only here.
PATHS = {
    "demo_bdd100k_labels": f"{DEMO_DIR}/bdd100k/labels/bdd100k_labels_images_{{split}}.json",
    "demo_bdd100k_images": f"{DEMO_DIR}/bdd100k/images/100k/{{split}}",
    "demo_synthia": f"{DEMO_DIR}/synthia",
    "manifest": f"{RESULTS}/data/manifests/{{dataset}}.csv",
    "crops": f"{RESULTS}/data/crops/{{dataset}}",
    "yolo": f"{RESULTS}/data/yolo/{{dataset}}",
    "coco": f"{RESULTS}/data/coco/{{dataset}}.json",
    "summary": f"{RESULTS}/data/summary/{{dataset}}.json",
    "box_heights": f"{RESULTS}/data/summary/{{dataset}}_box_heights.png",
    "cyclegan_generator": f"{RESULTS}/cyclegan/{{run}}/G_cg2real.pt",
    "cyclegan_metrics": f"{RESULTS}/cyclegan/{{run}}/metrics.csv",
    "cyclegan_card": f"{RESULTS}/cyclegan/{{run}}/model.json",
    "compact_generator": f"{RESULTS}/compact/{{run}}/G_cg2real.pt",
    "compact_card": f"{RESULTS}/compact/{{run}}/model.json",
    "compact_report": f"{RESULTS}/compact/{{run}}/report.csv",
    "compact_summary": f"{RESULTS}/compact/{{run}}/summary.json",
    "translated": f"{RESULTS}/translate/{{run}}/{{generator}}/yolo",
    "detector_set": f"{RESULTS}/detector/{{condition}}/data",
    "detector_weights": f"{RESULTS}/detector/{{condition}}/best_map50.pt",
    "detector_summary": f"{RESULTS}/detector/{{condition}}/train_summary.json",
    "table2_row": f"{RESULTS}/table2/{{condition}}.json",
    "table2_csv": f"{RESULTS}/table2.csv",
    "table2_md": f"{RESULTS}/table2.md",
    "fid_curve": f"{RESULTS}/fid/{{run}}.csv",
    "fid_plot": f"{RESULTS}/figures/fid.png",
    "inception_score": f"{RESULTS}/is/{{run}}.json",
    "augment_study": f"{RESULTS}/augment_study.md",
    "scalability_plot": f"{RESULTS}/figures/scalability.png",
    "scalability_csv": f"{RESULTS}/figures/scalability.csv",
    "scalability_md": f"{RESULTS}/figures/scalability.md",
    "sample_grid": f"{RESULTS}/figures/samples.png",
}
DATASETS = ["real_train", "real_val", "cg"]
CROPPED_DATASETS = ["real_train", "cg"]


CYCLEGAN = config["cyclegan"]
CYCLEGAN_RUNS = list(CYCLEGAN["runs"])
DETECTOR = config["detector"]
CONDITIONS = config["conditions"]


wildcard_constraints:
    split="train|val",
    dataset="|".join(DATASETS),
    run="|".join(CYCLEGAN_RUNS),
    condition="|".join(CONDITIONS),
    generator="full|compact",


def log_path(rule_name, *wildcards):
    return f"{LOGS}/{rule_name}/" + "_".join(wildcards or ("all",)) + ".log"


def section_json(*keys):
    """The config section at `keys`, as the JSON string the CLI's --settings/--filter expect."""
    section = config
    for key in keys:
        section = section[key]
    return json.dumps(section)


def uses_demo_data():
    return DATA["source"] == "demo"


def check_dataset_paths():
    """Stop before planning when a configured data set path is missing, naming the config key."""
    expected = {
        "data.bdd100k.train_images": ("BDD100K train frames, e.g. bdd100k/images/100k/train/*.jpg", True),
        "data.bdd100k.train_labels": ("BDD100K train labels, e.g. bdd100k_labels_images_train.json", False),
        "data.bdd100k.val_images": ("BDD100K val frames, e.g. bdd100k/images/100k/val/*.jpg", True),
        "data.bdd100k.val_labels": ("BDD100K val labels, e.g. bdd100k_labels_images_val.json", False),
        "data.synthia.root": ("SYNTHIA-RAND-CVPR16 root with RGB/ and GTTXT/ (or GT/LABELS/)", True),
    }
    problems = []
    for key, (what, is_dir) in expected.items():
        _, group, name = key.split(".")
        path = Path(DATA[group][name])
        if not (path.is_dir() if is_dir else path.is_file()):
            problems.append(f"  {key} = {path}: missing; put the {what} there, or set the key")
    if DATA["synthia"]["box_file"] and not Path(DATA["synthia"]["box_file"]).is_file():
        problems.append(f"  data.synthia.box_file = {DATA['synthia']['box_file']}: file not found")
    if problems:
        raise WorkflowError(
            "data.source is 'datasets' but data set files are missing:\n" + "\n".join(problems)
            + "\n(set data.source: demo to run on the built-in demo data)"
        )


if not uses_demo_data():
    check_dataset_paths()


def check_conditions():
    """Stop before planning when a condition names a CycleGAN run that is not configured."""
    for name, condition in CONDITIONS.items():
        cg = condition.get("cg")
        if cg and cg["source"] != "raw" and cg["run"] not in CYCLEGAN_RUNS:
            raise WorkflowError(
                f"conditions.{name}.cg.run = {cg['run']!r} is not a CycleGAN run; known: {', '.join(CYCLEGAN_RUNS)}"
            )


check_conditions()


def check_weight_files():
    """Stop before planning when a configured weights file is missing, naming the key and the file."""
    problems = []
    detector_weights = DETECTOR["train"]["weights"]
    if detector_weights and not Path(detector_weights).is_file():
        problems.append(f"  detector.train.weights = {detector_weights}: missing; put the pretrained detector "
                        "there (the paper: ultralytics' yolov3u.pt), or set the key to null to train from scratch")
    if config["fid"]["require_weights"]:
        from cg2real.metrics.inception import WEIGHTS_FILE, default_weights_path

        fid_weights = Path(config["fid"]["weights"] or default_weights_path())
        if not fid_weights.is_file():
            problems.append(f"  fid.weights = {fid_weights}: missing; put pytorch-fid's {WEIGHTS_FILE} there, "
                            "or set fid.require_weights: false to report FID as not computed")
    if problems:
        raise WorkflowError("weights files are missing (nothing is downloaded):\n" + "\n".join(problems))


check_weight_files()


def demo_root(wildcards, output):
    """The demo folder, derived from the rule's outputs (its SYNTHIA folder sits right below it)."""
    return str(Path(output.synthia).parent)


def bdd100k_inputs(wildcards):
    """Label file and image folder of one BDD100K split: the demo's or the configured one."""
    split = wildcards.split
    if uses_demo_data():
        return {
            "labels": PATHS["demo_bdd100k_labels"].format(split=split),
            "images": PATHS["demo_bdd100k_images"].format(split=split),
        }
    return {"labels": DATA["bdd100k"][f"{split}_labels"], "images": DATA["bdd100k"][f"{split}_images"]}


def synthia_inputs(wildcards):
    inputs = {"root": PATHS["demo_synthia"] if uses_demo_data() else DATA["synthia"]["root"]}
    if DATA["synthia"]["box_file"]:
        inputs["box_file"] = DATA["synthia"]["box_file"]
    return inputs


def synthia_box_file_arg(wildcards, input):
    return f"--box-file {input.box_file}" if "box_file" in input.keys() else ""


def export_frames(wildcards):
    """Detector training sets hold the kept frames; the validation set follows data.export.val_frames."""
    return DATA["export"]["val_frames"] if wildcards.dataset == "real_val" else "kept"


def data_stage_outputs():
    return (
        expand(PATHS["crops"], dataset=CROPPED_DATASETS)
        + expand(PATHS["yolo"], dataset=DATASETS)
        + expand(PATHS["coco"], dataset=DATASETS)
        + expand(PATHS["summary"], dataset=DATASETS)
        + expand(PATHS["box_heights"], dataset=DATASETS)
    )


def cyclegan_run(wildcards):
    return CYCLEGAN["runs"][wildcards.run]


def cyclegan_settings_json(wildcards):
    """The run's settings, as the JSON train-cyclegan reads."""
    return json.dumps(run_settings(wildcards.run))


def run_folder(wildcards, output):
    return str(Path(output.generator).parent)


def cyclegan_outputs():
    return expand(PATHS["cyclegan_generator"], run=CYCLEGAN_RUNS) + expand(PATHS["cyclegan_metrics"], run=CYCLEGAN_RUNS)


# conditions.<name>.cg.source -> the generator that translated the frames
TRANSLATORS = {"cyclegan": "full", "compact": "compact"}


def compacted_runs():
    """CycleGAN runs whose compact generator some condition uses."""
    return sorted({c["cg"]["run"] for c in CONDITIONS.values() if c.get("cg", {}).get("source") == "compact"})


def translated_sets():
    """Every translated CG set: each run's full generator, and the compact ones conditions use."""
    return expand(PATHS["translated"], run=CYCLEGAN_RUNS, generator="full") + expand(
        PATHS["translated"], run=compacted_runs(), generator="compact"
    )


def translator_inputs(wildcards):
    """Weights and model card of the generator that translates: the run's own or its compact one."""
    prefix = "cyclegan" if wildcards.generator == "full" else "compact"
    return {
        "generator": PATHS[f"{prefix}_generator"].format(run=wildcards.run),
        "card": PATHS[f"{prefix}_card"].format(run=wildcards.run),
    }


def fid_weights_arg(wildcards):
    weights = config["fid"]["weights"]
    return f"--weights {weights}" if weights else ""


def run_settings(run):
    """A CycleGAN run's settings: cyclegan.defaults with the run's overrides applied."""
    return {**CYCLEGAN["defaults"], **CYCLEGAN["runs"][run].get("settings", {})}


def scaling_runs():
    """The runs of the scalability figure and table: the same training as the run with fewest processes."""
    return same_training_runs({
        run: (CYCLEGAN["runs"][run]["nproc"] * run_settings(run)["simulate_processes"], run_settings(run))
        for run in CYCLEGAN_RUNS
    })


def condition_of_run(run):
    """The first Table 2 condition trained on frames translated by the run's full generator, if any."""
    for name, condition in CONDITIONS.items():
        cg = condition.get("cg") or {}
        if cg.get("source") == "cyclegan" and cg["run"] == run:
            return name
    return None


def augment_study_inputs(wildcards):
    rows = [PATHS["table2_row"].format(condition=c) for c in map(condition_of_run, CYCLEGAN_RUNS) if c]
    return {
        "fid": expand(PATHS["fid_curve"], run=CYCLEGAN_RUNS),
        "inception_score": expand(PATHS["inception_score"], run=CYCLEGAN_RUNS),
        "rows": rows,
    }


def augment_study_manifest(wildcards):
    """The JSON list `python -m cg2real augment-study` reads: per run its FID, IS, settings, Table 2 row."""
    entries = []
    for run in CYCLEGAN_RUNS:
        condition = condition_of_run(run)
        entries.append({
            "run": run,
            "fid": PATHS["fid_curve"].format(run=run),
            "is": PATHS["inception_score"].format(run=run),
            "settings": run_settings(run),
            "row": PATHS["table2_row"].format(condition=condition) if condition else None,
        })
    return json.dumps(entries)


def condition_cg_frames(condition):
    """The YOLO folder a condition draws its CG frames from: raw, or translated by a run."""
    cg = CONDITIONS[condition]["cg"]
    if cg["source"] == "raw":
        return PATHS["yolo"].format(dataset="cg")
    return PATHS["translated"].format(run=cg["run"], generator=TRANSLATORS[cg["source"]])


def detector_set_inputs(wildcards):
    inputs = {"real": PATHS["yolo"].format(dataset="real_train"), "val": PATHS["yolo"].format(dataset="real_val")}
    if CONDITIONS[wildcards.condition].get("cg"):
        inputs["cg"] = condition_cg_frames(wildcards.condition)
    return inputs


def detector_set_cg_args(wildcards, input):
    cg = CONDITIONS[wildcards.condition].get("cg")
    return f"--cg {input.cg} --cg-count {cg['count']}" if cg else ""


def condition_provenance_json(wildcards):
    """What a Table 2 row was made with: the condition, the detector and, if any, the CycleGAN run."""
    condition = CONDITIONS[wildcards.condition]
    provenance = {"condition": condition, "detector": DETECTOR, "data_source": DATA["source"]}
    cg = condition.get("cg")
    if cg and cg["source"] != "raw":
        run = CYCLEGAN["runs"][cg["run"]]
        provenance["cyclegan"] = {**run, "settings": run_settings(cg["run"])}
    return json.dumps(provenance)


def final_outputs():
    return (
        data_stage_outputs()
        + cyclegan_outputs()
        + translated_sets()
        + expand(PATHS["compact_summary"], run=compacted_runs())
        + expand(PATHS["table2_row"], condition=CONDITIONS)
        + [PATHS["table2_csv"], PATHS["table2_md"], PATHS["fid_plot"], PATHS["scalability_plot"], PATHS["sample_grid"]]
        + [PATHS["augment_study"]]
    )


# Cluster jobs (profiles/abci). Every rule's resources come from job_resources; the container,
# if configured, is used under --sdm apptainer; a cluster run without an ABCI group stops here.


container: config["cluster"]["container"]


def job_resources(rule_name, gpus=0):
    """Nodes, GPUs, walltime (runtime, minutes), mem_mb and ABCI settings of the rule's jobs.

    `gpus`: GPUs one job uses in all, or a function of the wildcards (a CycleGAN run's nproc);
    nodes are whole nodes of cluster.gpus_per_node. Use as `resources: **job_resources("rule")`.
    """
    if callable(gpus):
        return {
            key: lambda wildcards, key=key: rule_resources(config["cluster"], rule_name, gpus(wildcards), os.environ)[key]
            for key in RESOURCE_KEYS
        }
    return rule_resources(config["cluster"], rule_name, gpus, os.environ)


onstart:
    if not workflow.local_exec:
        require_group(abci_group(config["cluster"], os.environ))
