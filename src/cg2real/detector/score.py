"""Score a trained detector for one Table 2 condition: writes its row JSON `results/table2/{condition}.json`.

A row is the detector's score on the REAL validation split (TP/FP/FN/P/R/F1 at a confidence
threshold, mAP@0.5 by the configured AP method, which the row names) plus what it was trained on (frame counts from the condition's
`selection.json`), the checkpoint, and a hash of the condition and settings that made it, so that a
table can be traced back to its configuration. `cg2real.report.table2` gathers the rows.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cg2real.detector.evaluate import evaluate_detections
from cg2real.detector.predict import predict_coco
from cg2real.images import YOLO_IMAGES


@dataclass(frozen=True)
class EvaluationSettings:
    """Detector evaluation settings (config section detector.evaluate)."""

    predict_conf: float
    nms_iou: float
    conf_threshold: float
    ap_method: str  # cg2real.scoring.AP_METHODS: coco_101 (pycocotools) or darknet_all_point (the paper's)
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
    device: str | None, provenance_json: str, out: Path, replicate: int = 0, detections_out: Path | None = None,
) -> dict:
    """Score `weights` (replicate `replicate`) on the condition's validation frames; write the row to `out`
    and the detections (COCO results: the bootstrap's cache, no second inference) to `detections_out`."""
    coco_gt = json.loads(coco.read_text())
    with tempfile.TemporaryDirectory() as settings_dir:  # ultralytics' settings file and font, not kept
        detections = predict_coco(weights, data / "val" / YOLO_IMAGES, coco_gt, imgsz, settings.predict_conf,
                                  settings.nms_iou, device, settings.batch, Path(settings_dir))
    provenance = json.loads(provenance_json)
    selection = json.loads((data / "selection.json").read_text())
    row = {
        "condition": condition,
        "training_set": training_set_label(provenance, selection),
        **evaluate_detections(coco_gt, detections, settings.conf_threshold, settings.ap_method),
        "train_frames": selection["train_frames"],
        "frames_by_source": {s["prefix"].rstrip("_"): s["count"] for s in selection["sources"]},
        "sample_seed": selection["seed"],
        "replicate": replicate,
        "detector_seed": provenance.get("detector", {}).get("train", {}).get("seed", 0) + replicate,
        "weights": str(weights),
        "config_hash": config_hash(provenance),
        "provenance": provenance,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(row, indent=1))
    if detections_out is not None:
        detections_out.parent.mkdir(parents=True, exist_ok=True)
        detections_out.write_text(json.dumps(detections))
    return row
