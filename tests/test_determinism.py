"""The same config on the same machine gives the same numbers (issue 17), on tiny settings.

Two detector trainings with the same seed, each scored as a Table 2 replicate row, must give the
same loss trajectory, the same row and byte-identical cached detections; another seed must train
differently. Everything runs through the subcommands the workflow calls, in fresh processes
(ultralytics reads its offline switches when first imported), with config.yaml's detector settings
shrunk to a few iterations of a tiny model. How much a row moves between machines is measured, not
tested: README, "How much a row moves".
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.detector.test_dataset import yolo_set

REPO = Path(__file__).resolve().parents[1]
TINY_TRAIN = {"model": "yolov3-tinyu.yaml", "width_multiple": 0.125, "weights": None, "imgsz": 64, "batch": 4,
              "iterations": 6, "mosaic": 0.0, "workers": 0, "amp": False}
VAL_FRAMES = 4


def cg2real(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "cg2real", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def coco_of(yolo: Path, width: int = 32, height: int = 24) -> dict:
    """COCO ground truth of a YOLO folder (the export stage's layout)."""
    images, annotations = [], []
    for image_id, image in enumerate(sorted((yolo / "images").iterdir()), start=1):
        images.append({"id": image_id, "file_name": image.name, "width": width, "height": height})
        for line in (yolo / "labels" / f"{image.stem}.txt").read_text().splitlines():
            _, cx, cy, w, h = (float(v) for v in line.split())
            box = [(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "bbox": box,
                                "area": box[2] * box[3], "iscrowd": 0})
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}


def train_and_score(root: Path, condition: Path, coco: Path, name: str, seed: int, score: bool) -> Path:
    """One replicate as the workflow makes it: train-detector, then (if `score`) evaluate-detector."""
    detector = yaml.safe_load((REPO / "config.yaml").read_text())["detector"]
    train = {**detector["train"], **TINY_TRAIN, "seed": seed}
    out = root / name
    cg2real("train-detector", "--data", str(condition), "--settings", json.dumps(train), "--device", "cpu",
            "--out", str(out))
    if score:
        provenance = {"condition": {"real": "all"}, "detector": {"train": train}}
        cg2real("evaluate-detector", "--condition", "a", "--weights", str(out / "best_map50.pt"),
                "--data", str(condition), "--coco", str(coco), "--settings", json.dumps(detector["evaluate"]),
                "--imgsz", str(TINY_TRAIN["imgsz"]), "--device", "cpu", "--provenance", json.dumps(provenance),
                "--out", str(out / "row.json"), "--detections", str(out / "detections.json"))
    return out


def losses(run: Path) -> list[dict]:
    """ultralytics' per-epoch results without the wall-clock column."""
    with (run / "ultralytics" / "results.csv").open() as handle:
        rows = [{key.strip(): value for key, value in row.items()} for row in csv.DictReader(handle)]
    assert rows
    return [{key: value for key, value in row.items() if key != "time"} for row in rows]


def test_the_same_seed_gives_the_same_row_and_another_seed_differs(tmp_path):
    real = yolo_set(tmp_path / "real", [f"r{i:02d}" for i in range(8)])
    val = yolo_set(tmp_path / "val", [f"v{i:02d}" for i in range(VAL_FRAMES)])
    coco = tmp_path / "val.json"
    coco.write_text(json.dumps(coco_of(val)))
    condition = tmp_path / "condition"
    cg2real("detector-set", "--real", str(real), "--val", str(val), "--settings",
            json.dumps({"real": "all", "cg": None, "seed": 0}), "--out", str(condition))

    first, again = (train_and_score(tmp_path, condition, coco, name, 0, True) for name in ("first", "again"))
    other = train_and_score(tmp_path, condition, coco, "other", 1, False)

    assert losses(first) == losses(again)
    rows = [json.loads((run / "row.json").read_text()) for run in (first, again)]
    for row in rows:
        row.pop("weights")  # the checkpoint's path: the one thing allowed to differ
    assert rows[0] == rows[1] and rows[0]["detector_seed"] == 0
    assert (first / "detections.json").read_bytes() == (again / "detections.json").read_bytes()
    train_losses = [{k: v for k, v in epoch.items() if k.startswith("train/")} for epoch in losses(other)]
    assert train_losses != [{k: v for k, v in epoch.items() if k.startswith("train/")} for epoch in losses(first)]
