# Config check (cg2real.config_check), the one table of output paths, thin input functions (cluster jobs: cluster.smk).
# The plan itself (run settings, conditions, provenance, ...) is cg2real.workflow, tested there.

import json
from pathlib import Path

from snakemake.exceptions import WorkflowError

from cg2real import config_check, workflow as plan
from cg2real.cluster.resources import device_gpus
from cg2real.compact import paths as compact_files
from cg2real.cyclegan import run as run_files
from cg2real.detector import records as detector_files

if problem := config_check.normalized_config_problem(config, Path(workflow.basedir, "schemas/config.schema.yaml")):
    raise WorkflowError(problem)

RESULTS = config["results_dir"]
LOGS = config["logs_dir"]
DEMO = f"{RESULTS}/demo"
RUN_DIR = f"{RESULTS}/cyclegan/{{run}}"
COMPACT_DIR = f"{RESULTS}/compact/{{run}}"

# Every output path of the workflow, built here and only here.
PATHS = {
    "demo_bdd100k_labels": f"{DEMO}/bdd100k/labels/bdd100k_labels_images_{{split}}.json",
    "demo_bdd100k_images": f"{DEMO}/bdd100k/images/100k/{{split}}",
    "demo_synthia": f"{DEMO}/synthia",
    "manifest": f"{RESULTS}/data/manifests/{{dataset}}.csv",
    "crops": f"{RESULTS}/data/crops/{{dataset}}",
    "yolo": f"{RESULTS}/data/yolo/{{dataset}}",
    "coco": f"{RESULTS}/data/coco/{{dataset}}.json",
    "summary": f"{RESULTS}/data/summary/{{dataset}}.json",
    "box_heights": f"{RESULTS}/data/summary/{{dataset}}_box_heights.png",
    "cyclegan_generator": f"{RUN_DIR}/{run_files.GENERATOR_CG2REAL}",
    "cyclegan_metrics": f"{RUN_DIR}/{run_files.METRICS}",
    "cyclegan_card": f"{RUN_DIR}/{run_files.MODEL_CARD}",
    "compact_generator": f"{COMPACT_DIR}/{compact_files.WEIGHTS}",
    "compact_card": f"{COMPACT_DIR}/{compact_files.CARD}",
    "compact_report": f"{COMPACT_DIR}/{compact_files.REPORT}",
    "compact_summary": f"{COMPACT_DIR}/{compact_files.SUMMARY}",
    "translated": f"{RESULTS}/translate/{{run}}/{{generator}}/yolo",
    "fid_curve": f"{RESULTS}/fid/{{run}}.csv",
    "compact_fid": f"{RESULTS}/fid/compact/{{run}}.csv",  # FID per prune step
    "fid_plot": f"{RESULTS}/figures/fid.png",
    "inception_score": f"{RESULTS}/is/{{run}}.json",
    "detector_set": f"{RESULTS}/detector/{{condition}}/{detector_files.CONDITION_SET}",
    "detector_weights": f"{RESULTS}/detector/{{condition}}/r{{replicate}}/{detector_files.BEST_MAP50}",
    "detector_summary": f"{RESULTS}/detector/{{condition}}/r{{replicate}}/{detector_files.TRAIN_SUMMARY}",
    "replicate_row": f"{RESULTS}/table2/{{condition}}/r{{replicate}}.json",
    "replicate_detections": f"{RESULTS}/table2/{{condition}}/r{{replicate}}_detections.json",  # COCO results, cached
    "table2_row": f"{RESULTS}/table2/{{condition}}.json",  # aggregates the condition's replicates
    "table2_csv": f"{RESULTS}/table2.csv",
    "table2_md": f"{RESULTS}/table2.md",
    "table2_html": f"{RESULTS}/table2.html",  # the HTML twins: Snakemake's report shows HTML, not Markdown
    "table2_attributes_csv": f"{RESULTS}/table2_attributes.csv",  # Table 2 by time of day and weather
    "table2_attributes_md": f"{RESULTS}/table2_attributes.md",
    "table2_attributes_html": f"{RESULTS}/table2_attributes.html",
    "augment_study": f"{RESULTS}/augment_study.md",
    "augment_study_html": f"{RESULTS}/augment_study.html",
    "scalability_plot": f"{RESULTS}/figures/scalability.png",
    "scalability_csv": f"{RESULTS}/figures/scalability.csv",
    "scalability_md": f"{RESULTS}/figures/scalability.md",
    "scalability_html": f"{RESULTS}/figures/scalability.html",
    "sample_grid": f"{RESULTS}/figures/samples.png",
    "cyclegan_samples": f"{RUN_DIR}/{run_files.SAMPLES}",  # the trainer's grid per epoch (not a declared output)
    "cyclegan_losses": f"{RESULTS}/figures/cyclegan/{{run}}_losses.png",
    "cyclegan_sample_grids": f"{RESULTS}/figures/cyclegan/{{run}}_samples.png",
    "detector_run": f"{RESULTS}/detector/{{condition}}/r{{replicate}}/{detector_files.ULTRALYTICS_RUN}",
    "detector_plots": f"{RESULTS}/figures/detector",  # ultralytics' plots, per condition/r<replicate>
}
RUNS = list(config["cyclegan"]["runs"])
CONDITIONS = list(config["conditions"])


wildcard_constraints:
    split="train|val",
    dataset="|".join(plan.DATASETS),
    run="|".join(RUNS),
    condition="|".join(CONDITIONS),
    replicate=r"\d+",
    generator="full|compact",


def inception_weights():
    from cg2real.metrics.inception import default_weights_path  # torch: imported only when required

    return Path(config["metrics"]["weights"] or default_weights_path())


# Stop before planning when a configured file is missing or a condition names an unknown run.
if problems := plan.config_problems(config, inception_weights):
    raise WorkflowError("\n".join(problems))


def log_path(rule, *wildcards, suffix=".log"):
    """The job's log (or, with another suffix, a file kept beside it: it survives a failed job)."""
    return f"{LOGS}/{rule}/{'_'.join(wildcards or ('all',))}{suffix}"


def benchmark_path(rule, *wildcards):
    """Wall time and memory of each job (Snakemake's benchmark TSV), beside the results."""
    return f"{RESULTS}/benchmarks/{rule}/{'_'.join(wildcards or ('all',))}.tsv"


def input_folder(name):
    """A parameter: the folder that holds the job's input `name` (a run folder, say)."""
    return lambda wildcards, input: str(Path(input[name]).parent)


def output_folder(name):
    """A parameter: the folder that holds the job's output `name`."""
    return lambda wildcards, output: str(Path(output[name]).parent)


def settings(*keys, without=()):
    """The config section at `keys` as the JSON of a subcommand's --settings."""
    return plan.settings_json(config, *keys, without=without)


def setting(*keys):
    return plan.section(config, *keys)


def run_setting(key):
    """A key of the {run} wildcard's entry in cyclegan.runs (backend, nproc)."""
    return lambda wildcards: config["cyclegan"]["runs"][wildcards.run][key]


def plan_json(plan_function, wildcard):
    """A parameter: `plan_function(config, <the job's wildcard>)` as JSON, e.g. a run's settings."""
    return lambda wildcards: json.dumps(plan_function(config, wildcards[wildcard]))


def bdd100k_inputs(wildcards):
    """Label file and image folder of one BDD100K split: the demo's or the configured one."""
    demo = {key: PATHS[f"demo_bdd100k_{key}"].format(split=wildcards.split) for key in ("labels", "images")}
    return plan.bdd100k_inputs(config["data"], wildcards.split, demo)


def synthia_inputs(wildcards):
    return plan.synthia_inputs(config["data"], PATHS["demo_synthia"])


def optional_input(name):
    """An input that only some jobs have, as a parameter: its path, or '' (the CLI's 'none')."""
    return lambda wildcards, input: input.get(name, "")


def export_frames(wildcards):
    """Detector training sets hold the kept frames; the validation set follows data.export.val_frames."""
    return config["data"]["export"]["val_frames"] if wildcards.dataset == "real_val" else "kept"


def translator_inputs(wildcards):
    """Weights and model card of the generator that translates: the run's own or its compact one."""
    prefix = "cyclegan" if wildcards.generator == "full" else "compact"
    return {key: PATHS[f"{prefix}_{key}"].format(run=wildcards.run) for key in ("generator", "card")}


def detector_set_inputs(wildcards):
    """The real training and validation sets, and the CG frames (raw or translated) if any."""
    inputs = {"real": PATHS["yolo"].format(dataset="real_train"), "val": PATHS["yolo"].format(dataset="real_val")}
    cg = plan.condition_cg_frames(config, wildcards.condition, PATHS["yolo"].format(dataset="cg"), PATHS["translated"])
    return inputs | ({"cg": cg} if cg else {})


def augment_study_manifest():
    keys = ("fid_curve", "inception_score", "table2_row")
    return json.dumps(plan.augment_study_entries(config, *(PATHS[key] for key in keys)))
