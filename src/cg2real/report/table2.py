"""Table 2 of paper 000 as CSV and Markdown, from the condition rows (JSON, one per condition).

`cg2real.detector.score` writes one row per replicate (detector seed train.seed + r): the detector's
score on the REAL validation split (TP/FP/FN/P/R/F1 at a confidence threshold, mAP@0.5 by the AP
method the row names), what it was trained on, the checkpoint, a hash of its configuration, and its
cached detections. `aggregate_row` makes the condition's row from its replicates: the means, 95% t-intervals
over replicates (none for one replicate) and a 95% percentile bootstrap of mAP@0.5 over validation
images. `write_table2` reads the rows (and the cached detections, for the paired differences against
rows a and b: by replicate and by resampled image) and writes the table; it runs no inference. The
table shows how many ground-truth persons each row was scored on, and warns (in the table and the
log) when a row scored on the full BDD100K validation split saw another number than the paper's.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from cg2real.report.intervals import (
    BOOTSTRAP_SEED, RESAMPLES, Estimate, bootstrap_counts, bootstrap_map50, percentile_interval, t_interval,
)
from cg2real.report.tables import write_csv, write_markdown_page
from cg2real.scoring import ImageOutcomes

log = logging.getLogger(__name__)

# Paper 000, Table 2 (BDD100K evaluation, IoU 0.5): (row, training set, TP, FP, FN, P, R, F1, mAP@0.50 %).
PAPER_ROWS = (
    ("a", "BDD100K 500", 3930, 2920, 6843, 0.57, 0.36, 0.45, 34.34),
    ("b", "a + SYNTHIA 1017 (raw CG)", 4086, 2643, 6687, 0.61, 0.38, 0.47, 39.45),
    ("c", "a + translated, CycleGAN on 4 GPUs", 4813, 4560, 5960, 0.51, 0.45, 0.48, 41.39),
    ("d", "a + translated, 64 GPUs", 4403, 2625, 6370, 0.63, 0.41, 0.49, 41.84),
    ("e", "a + translated, 128 GPUs", 4718, 3762, 6055, 0.56, 0.44, 0.49, 42.03),
    ("f", "a + translated, 256 GPUs", 3996, 1938, 6777, 0.67, 0.37, 0.48, 41.40),
    ("g", "a + translated, 512 GPUs", 4604, 3616, 6169, 0.56, 0.43, 0.48, 41.53),
)
PAPER_GT_PERSONS = 10773  # TP + FN of every paper row: the persons of its evaluation set
PAPER_AP_METHOD = "darknet_all_point"  # Table 2's columns are darknet's `detector map` output
LEGACY_AP_METHOD = "coco_101"  # rows written before they named their method were scored by pycocotools
METRICS = ("tp", "fp", "fn", "precision", "recall", "f1", "map50")
REFERENCES = ("a", "b")  # every row is compared with these, when the table has them
COLUMNS = ("source", "row", "training set", "replicates", "TP", "FP", "FN", "P", "R", "F1", "mAP@0.50 %",
           "mAP 95% CI seeds", "mAP 95% CI images",
           *(f"{name} vs {ref}" for ref in REFERENCES for name in ("Δ mAP", "Δ 95% CI seeds", "Δ 95% CI images",
                                                                      "Δ excludes 0")),
           "AP method", "GT persons", "best epoch chosen on")
PAPER_SELECTION = "evaluation set"  # the paper keeps the checkpoint that scores best on the evaluation set


def ap_method(row: dict) -> str:
    """The AP method a row's mAP was computed with."""
    return row.get("ap_method", LEGACY_AP_METHOD)


def _outcomes(coco_gt: dict, detection_files: list[str], method: str) -> list[ImageOutcomes]:
    return [ImageOutcomes.from_coco(coco_gt, json.loads(Path(path).read_text()), method) for path in detection_files]


def selection_set(row: dict) -> str:
    """Which frames chose the row's checkpoint: the evaluation set itself (the paper's way, and every
    row's before `detector.train.selection`) or a held-out share of the real training frames."""
    train = row.get("provenance", {}).get("detector", {}).get("train", {})
    if train.get("selection", "eval_set") == "eval_set":
        return PAPER_SELECTION
    return f"held-out {100 * train['selection_fraction']:g}% of the real training frames"


def is_full_bdd100k_val(row: dict) -> bool:
    """Whether the row was scored on every frame of BDD100K's validation split (the paper's evaluation set)."""
    provenance = row.get("provenance", {})
    return provenance.get("data_source") == "datasets" and provenance.get("val_frames") == "all"


def ground_truth_note(data: list[dict]) -> str:
    """The ground-truth persons the rows were scored on, with a warning where the full BDD100K
    validation split gave another number than the paper's (a different label version or person
    categories): the rows are then not comparable count for count. Empty for the demo's rows."""
    full = {row["condition"]: row.get("n_gt_boxes") for row in data if is_full_bdd100k_val(row)}
    if not full:
        return ""
    note = "Ground-truth persons: " + ", ".join(f"{name} {count}" for name, count in full.items())
    differing = {name: count for name, count in full.items() if count != PAPER_GT_PERSONS}
    if differing:
        warning = (f"WARNING: the full BDD100K validation split gave {sorted(set(differing.values()))} ground-truth "
                   f"persons for rows {', '.join(differing)}, where the paper's Table 2 has {PAPER_GT_PERSONS} "
                   "(TP + FN of every row): TP and FN are not comparable with the paper's count for count.")
        log.warning(warning)
        note += ". " + warning
    return note


def aggregate_row(condition: str, replicate_files: list[Path], detection_files: list[Path], coco: Path,
                  out: Path, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """The condition's row from its replicate rows: means (one replicate: its very values), intervals."""
    replicates = [json.loads(path.read_text()) for path in replicate_files]
    methods = {ap_method(r) for r in replicates}
    if len(methods) != 1:
        raise ValueError(f"the replicates of {condition} were scored by different AP methods: {sorted(methods)}")
    coco_gt = json.loads(coco.read_text())
    intervals = {key: t_interval([r[key] for r in replicates]) for key in METRICS}
    counts = bootstrap_counts(len(coco_gt["images"]), resamples, seed)
    samples = bootstrap_map50(_outcomes(coco_gt, [str(p) for p in detection_files], methods.pop()), counts)
    row = {
        **replicates[0],
        **{key: replicates[0][key] if len(replicates) == 1 else intervals[key].mean for key in METRICS},
        "condition": condition,
        "replicates": len(replicates),
        "detector_seeds": [r.get("detector_seed") for r in replicates],
        "intervals": {key: estimate.as_json() for key, estimate in intervals.items()},
        "ap_method": ap_method(replicates[0]),
        "map50_bootstrap": percentile_interval(samples, intervals["map50"].mean).as_json(),
        "bootstrap": {"resamples": resamples, "seed": seed, "confidence": 0.95},
        "replicate_rows": [str(p) for p in replicate_files],
        "detections": [str(p) for p in detection_files],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(row, indent=1))
    return row


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.2f}"


def _interval(estimate: dict | Estimate | None, replicates: int | None = None) -> str:
    if isinstance(estimate, Estimate):
        estimate = estimate.as_json()
    if not estimate or estimate["low"] is None:
        return "none (1 replicate)" if replicates == 1 else ""
    return f"[{_pct(estimate['low'])}, {_pct(estimate['high'])}]"


def paired_difference(row: dict, reference: dict, samples: dict[str, np.ndarray]) -> dict:
    """mAP@0.5 of `row` minus `reference`: over replicates paired by seed (t) and over the same
    resampled images (bootstrap of the replicate-mean difference). Excludes 0 when every interval
    there is does."""
    mine, theirs = _replicate_map50(row), _replicate_map50(reference)
    by_seed = t_interval([x - y for x, y in zip(mine, theirs, strict=True)]) if len(mine) == len(theirs) else None
    point = row["map50"] - reference["map50"]
    by_image = (percentile_interval(samples[row["condition"]] - samples[reference["condition"]], point)
                if row["condition"] in samples and reference["condition"] in samples else None)
    found = [e.excludes_zero for e in (by_seed, by_image) if e is not None and e.excludes_zero is not None]
    return {"difference": point, "by_seed": by_seed, "by_image": by_image,
            "excludes_zero": (all(found) if found else None)}


def _replicate_map50(row: dict) -> list[float]:
    """The replicates' mAP@0.5 (from the row's replicate files; a row without them is one replicate)."""
    files = row.get("replicate_rows")
    return [json.loads(Path(path).read_text())["map50"] for path in files] if files else [row["map50"]]


def our_table_row(row: dict, differences: dict[str, dict] | None = None) -> tuple:
    k = row.get("replicates", 1)
    cells = ["ours", row["condition"], row["training_set"], k,
             *(round(row[key], 1) if k > 1 else row[key] for key in ("tp", "fp", "fn")),
             round(row["precision"], 2), round(row["recall"], 2), round(row["f1"], 2), round(100 * row["map50"], 2),
             _interval(row.get("intervals", {}).get("map50"), k), _interval(row.get("map50_bootstrap"))]
    for ref in REFERENCES:
        diff = (differences or {}).get(ref)
        if diff is None:
            cells += ["", "", "", ""]
            continue
        excludes = {True: "yes", False: "no", None: ""}[diff["excludes_zero"]]
        cells += [_pct(diff["difference"]), _interval(diff["by_seed"], k), _interval(diff["by_image"]), excludes]
    return (*cells, ap_method(row), row.get("n_gt_boxes", ""), selection_set(row))


def _bootstrap_samples(rows: list[dict], coco: Path | None) -> dict[str, np.ndarray]:
    """Per row, its replicate-mean mAP@0.5 on the same resampled images (rows with cached detections)."""
    if coco is None:
        return {}
    coco_gt = json.loads(coco.read_text())
    samples = {}
    for row in rows:
        if row.get("detections"):
            boot = row.get("bootstrap", {})
            counts = bootstrap_counts(len(coco_gt["images"]), boot.get("resamples", RESAMPLES),
                                      boot.get("seed", BOOTSTRAP_SEED))
            samples[row["condition"]] = bootstrap_map50(_outcomes(coco_gt, row["detections"], ap_method(row)), counts)
    return samples


def write_table2(row_files: list[Path], csv_path: Path, markdown_path: Path, with_paper: bool,
                 coco: Path | None = None) -> list[tuple]:
    """Table 2 from row JSON files (in the given order), with the paper's rows after ours when asked."""
    data = [json.loads(path.read_text()) for path in row_files]
    by_name = {row["condition"]: row for row in data}
    samples = _bootstrap_samples(data, coco)
    rows = []
    for row in data:
        differences = {ref: paired_difference(row, by_name[ref], samples)
                       for ref in REFERENCES if ref in by_name and ref != row["condition"]}
        rows.append(our_table_row(row, differences))
    if with_paper:
        blanks = ("",) * (len(COLUMNS) - 5 - len(PAPER_ROWS[0]))
        rows += [("paper 000", paper_row[0], paper_row[1], "", *paper_row[2:], *blanks, PAPER_AP_METHOD,
                  paper_row[2] + paper_row[4], PAPER_SELECTION) for paper_row in PAPER_ROWS]
    write_csv(csv_path, COLUMNS, rows)
    note = ("Detector scores on the real validation split: TP/FP/FN, P, R, F1 at the configured confidence "
            "threshold with IoU 0.5 matching, means over the replicates (detector seeds); mAP@0.50 by the "
            "row's AP method (coco_101: pycocotools' 101-point AP; darknet_all_point: darknet's `detector map`, "
            "all-point, as the paper), its mean, with 95% intervals over seeds (Student t; none with one "
            "replicate) and over validation images (percentile bootstrap, exact AP on cached detections). "
            "Δ vs a/b: mAP difference in points, paired by seed and by resampled image; "
            "'excludes 0': every interval of the difference lies on one side of zero. "
            "GT persons: ground-truth persons of the evaluation set (TP + FN). Best epoch chosen on: the frames "
            "whose mAP@0.50 picked the checkpoint (the paper's: the evaluation set itself, which flatters every row "
            "alike; detector.train.selection: held_out picks on real training frames kept out of training).")
    write_markdown_page(markdown_path, "Table 2", note, COLUMNS, rows, after=ground_truth_note(data))
    return rows
