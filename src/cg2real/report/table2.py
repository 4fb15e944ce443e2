"""Table 2 of paper 000: one JSON row per condition, then the table as CSV and Markdown.

A row is the detector's score on the REAL validation split (TP/FP/FN/P/R/F1 at a confidence
threshold, mAP@0.5 by pycocotools) plus what it was trained on (frame counts from the condition's
`selection.json`), the checkpoint, and a hash of the condition and settings that made it, so that a
table can be traced back to its configuration.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cg2real.detector.evaluate import evaluate_detections
from cg2real.detector.predict import predict_coco

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
COLUMNS = ("source", "row", "training set", "TP", "FP", "FN", "P", "R", "F1", "mAP@0.50 %")


@dataclass(frozen=True)
class EvaluationSettings:
    """Detector evaluation settings (config section detector.evaluate)."""

    predict_conf: float
    nms_iou: float
    conf_threshold: float
    batch: int


def config_hash(provenance: dict) -> str:
    """A short, order-independent hash of the settings a row was made with."""
    return hashlib.sha256(json.dumps(provenance, sort_keys=True).encode()).hexdigest()[:12]


def training_set_label(provenance: dict, selection: dict) -> str:
    """'real 500 + CG 1017 (cyclegan gpus4)': the Table 2 'training set' cell."""
    counts = {s["prefix"].rstrip("_"): s["count"] for s in selection["sources"]}
    label = f"real {counts.get('real', 0)}"
    cg = provenance["condition"].get("cg")
    if cg:
        origin = cg["source"] if cg["source"] == "raw" else f"{cg['source']} {cg['run']}"
        label += f" + CG {counts.get('cg', 0)} ({origin})"
    return label


def evaluate_condition(
    condition: str, weights: Path, data: Path, coco: Path, settings: EvaluationSettings, imgsz: int,
    device: str | None, provenance_json: str, out: Path,
) -> dict:
    """Score `weights` on the condition's validation frames and write its Table 2 row to `out`."""
    coco_gt = json.loads(coco.read_text())
    with tempfile.TemporaryDirectory() as settings_dir:  # ultralytics' settings file and font, not kept
        detections = predict_coco(weights, data / "val" / "images", coco_gt, imgsz, settings.predict_conf,
                                  settings.nms_iou, device, settings.batch, Path(settings_dir))
    provenance = json.loads(provenance_json)
    selection = json.loads((data / "selection.json").read_text())
    row = {
        "condition": condition,
        "training_set": training_set_label(provenance, selection),
        **evaluate_detections(coco_gt, detections, settings.conf_threshold),
        "train_frames": selection["train_frames"],
        "frames_by_source": {s["prefix"].rstrip("_"): s["count"] for s in selection["sources"]},
        "sample_seed": selection["seed"],
        "weights": str(weights),
        "config_hash": config_hash(provenance),
        "provenance": provenance,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(row, indent=1))
    return row


def our_table_row(row: dict) -> tuple:
    return ("ours", row["condition"], row["training_set"], row["tp"], row["fp"], row["fn"],
            round(row["precision"], 2), round(row["recall"], 2), round(row["f1"], 2), round(100 * row["map50"], 2))


def write_table2(row_files: list[Path], csv_path: Path, markdown_path: Path, with_paper: bool) -> list[tuple]:
    """Table 2 from row JSON files (in the given order), with the paper's rows after ours when asked."""
    rows = [our_table_row(json.loads(path.read_text())) for path in row_files]
    if with_paper:
        rows += [("paper 000", *paper_row) for paper_row in PAPER_ROWS]
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    note = ("Detector scores on the real validation split: TP/FP/FN, P, R, F1 at the configured confidence "
            "threshold with IoU 0.5 matching; mAP@0.50 by pycocotools.")
    markdown_path.write_text("# Table 2\n\n" + note + "\n\n" + "\n".join(lines) + "\n")
    return rows
