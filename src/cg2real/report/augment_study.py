"""The augmentation study table (papers 003 and 002): per CycleGAN run, its augmentation settings
beside the final generator's FID and IS and the detector mAP@0.5 of a Table 2 condition using it.

Each run is described by a manifest entry (the workflow passes them as one JSON list, so its rule
stays one command line):
  {"run": name, "fid": "results/fid/<run>.csv", "is": "<IS JSON>", "settings": {<the run's CycleGAN
   settings>}, "row": "results/table2/<condition>.json" or null}
The FID CSV's last row is the final generator (`fid_curve`); a metric without a number is shown as
"not computed", a run no condition uses as "not in Table 2" - never a stand-in number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cg2real.errors import DataError
from cg2real.metrics.fid_curve import read_fid_curve
from cg2real.report.tables import write_markdown_page

NOT_COMPUTED = "not computed"
NOT_IN_TABLE2 = "not in Table 2"
COLUMNS = ("run", "DiffAugment (003)", "bCR (003)", "classic policies (002)", "final FID", "IS",
           "detector mAP@0.50 %")
TITLE = "Augmentation study"
NOTE = (
    "Per CycleGAN run: its augmentation for GAN training (paper 003's differentiable augmentation of real "
    "and fake images before the discriminators, and bCR; paper 002's classic policies on the training "
    "crops), then the final CG->real generator's FID (real crops vs translated CG crops; lower is better) "
    "and Inception Score (translated CG crops, mean +- std over splits; higher is better), and mAP@0.50 "
    "on the real validation split of the detector trained with that run's translated frames. "
    f"'{NOT_COMPUTED}': the Inception weights were missing; '{NOT_IN_TABLE2}': no condition uses the run."
)
SETTING_KEYS = ("diffaug_policy", "diffaug_shared", "lambda_bcr", "bcr_policy", "classic_policies", "classic_contrast")


@dataclass(frozen=True)
class StudyRun:
    """One CycleGAN run of the study and the files holding its metrics."""

    name: str
    fid_csv: Path
    is_json: Path
    settings: dict
    row_json: Path | None


def study_runs_from_json(text: str) -> list[StudyRun]:
    """The manifest (a JSON list of entries, see the module docstring) as StudyRuns, in table order."""
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"the augmentation study manifest is not valid JSON: {err}") from err
    if not isinstance(entries, list) or not entries:
        raise DataError("the augmentation study manifest must be a non-empty JSON list of runs")
    runs = []
    for entry in entries:
        missing = [key for key in ("run", "fid", "is", "settings") if key not in entry]
        if missing:
            raise DataError(f"augmentation study entry {entry.get('run', entry)!r} lacks {', '.join(missing)}")
        row = entry.get("row")
        runs.append(StudyRun(entry["run"], Path(entry["fid"]), Path(entry["is"]), entry["settings"],
                             Path(row) if row else None))
    return runs


def _settings(run: StudyRun) -> dict:
    missing = [key for key in SETTING_KEYS if key not in run.settings]
    if missing:
        raise DataError(f"settings of run {run.name} lack {', '.join(missing)}")
    return run.settings


def augmentation_cells(settings: dict) -> tuple[str, str, str]:
    """The DiffAugment, bCR and classic-policy cells of a run's settings ("off" where unused)."""
    diffaug = settings["diffaug_policy"] or "off"
    if settings["diffaug_policy"] and settings["diffaug_shared"]:
        diffaug += " (same transform for real and fake)"
    bcr = f"lambda {settings['lambda_bcr']:g}, T = {settings['bcr_policy']}" if settings["lambda_bcr"] > 0 else "off"
    classic = ", ".join(settings["classic_policies"]) or "off"
    if "contrast" in settings["classic_policies"]:
        classic += f" (contrast x{settings['classic_contrast']:g})"
    return diffaug, bcr, classic


def _existing(path: Path, what: str, run: str) -> Path:
    if not path.is_file():
        raise DataError(f"{what} of run {run} not found: {path}")
    return path


def final_fid_cell(run: StudyRun) -> str:
    rows = read_fid_curve(_existing(run.fid_csv, "FID CSV", run.name))
    if not rows:
        raise DataError(f"FID CSV of run {run.name} has no rows: {run.fid_csv}")
    final = rows[-1]["fid"]
    return f"{float(final):.2f}" if final else NOT_COMPUTED


def inception_score_cell(run: StudyRun) -> str:
    score = json.loads(_existing(run.is_json, "IS JSON", run.name).read_text())
    if score.get("is_mean") is None:
        return NOT_COMPUTED
    return f"{score['is_mean']:.3f} +- {score['is_std']:.3f}"


def detector_cell(run: StudyRun) -> str:
    if run.row_json is None:
        return NOT_IN_TABLE2
    row = json.loads(_existing(run.row_json, "Table 2 row", run.name).read_text())
    return f"{100 * row['map50']:.2f} (condition {row['condition']})"


def study_row(run: StudyRun) -> tuple[str, ...]:
    return (run.name, *augmentation_cells(_settings(run)), final_fid_cell(run), inception_score_cell(run),
            detector_cell(run))


def write_augment_study(runs: list[StudyRun], out: Path) -> list[tuple[str, ...]]:
    """Write the study as Markdown (one row per run, in the given order) and return its rows."""
    rows = [study_row(run) for run in runs]
    write_markdown_page(out, TITLE, NOTE, COLUMNS, rows)
    return rows
