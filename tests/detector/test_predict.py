"""predict_coco with a real (untrained, one-class) ultralytics YOLOv3-tiny checkpoint on tiny images.

ultralytics reads its offline switches when first imported, so the predictions run in a fresh
Python process (as in test_offline) and this process never imports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from cg2real.detector.evaluate import evaluate_detections
from cg2real.detector.predict import coco_results, ensure_offline_ultralytics, image_paths, predict_coco
from tests.conftest import write_jpeg

# Builds a one-class model from ultralytics' packaged yolov3-tinyu.yaml and saves it with
# `Model.save` (no training, no download), then predicts with it in the ways the tests check.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import yaml
    from cg2real.detector.predict import ensure_offline_ultralytics, predict_coco

    work = Path(sys.argv[1])
    ensure_offline_ultralytics(work / "config")
    from ultralytics import YOLO
    from ultralytics.nn.tasks import yaml_model_load

    spec = {k: v for k, v in yaml_model_load("yolov3-tinyu.yaml").items() if k != "yaml_file"}
    (work / "model.yaml").write_text(yaml.safe_dump({**spec, "nc": 1}))
    YOLO(str(work / "model.yaml")).save(work / "model.pt")

    gt = json.loads((work / "gt.json").read_text())
    common = dict(weights=work / "model.pt", images_dir=work / "images", imgsz=64, iou=0.7, device="cpu",
                  config_dir=work / "config")
    out = {
        "low": predict_coco(coco_gt=gt, conf=0.001, batch=2, **common),
        "batch1": predict_coco(coco_gt=gt, conf=0.001, batch=1, **common),
        "high": predict_coco(coco_gt=gt, conf=0.99, batch=2, **common),
    }
    reference = YOLO(str(work / "model.pt")).predict(
        str(work / "images" / "b.png"), imgsz=64, conf=0.001, iou=0.7, device="cpu", verbose=False
    )[0]
    out["reference_b"] = {"xyxy": reference.boxes.xyxy.tolist(), "scores": reference.boxes.conf.tolist()}
    gt["images"][0]["width"] += 1
    try:
        predict_coco(coco_gt=gt, conf=0.001, batch=2, **common)
    except ValueError as error:
        out["size_error"] = str(error)
    (work / "out.json").write_text(json.dumps(out))
    """
)

# id, file name, width, height: ids out of order so a mix-up of ids and positions shows
IMAGES = [(7, "a.jpg", 80, 48), (3, "b.png", 64, 64), (12, "c.jpg", 48, 96)]


def ground_truth() -> dict:
    images = [{"id": i, "file_name": name, "width": w, "height": h} for i, name, w, h in IMAGES]
    annotations = [
        {"id": n, "image_id": i, "category_id": 1, "bbox": [2, 2, w / 2, h / 2], "area": w * h / 4, "iscrowd": 0}
        for n, (i, _, w, h) in enumerate(IMAGES, start=1)
    ]
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}


@pytest.fixture(scope="module")
def predicted(tmp_path_factory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("predict")
    (work / "images").mkdir()
    for _, name, w, h in IMAGES:
        if name.endswith(".png"):
            noise = np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8)
            assert cv2.imwrite(str(work / "images" / name), noise)
        else:
            write_jpeg(work / "images" / name, w, h)
    write_jpeg(work / "images" / "not_in_gt.jpg", 32, 32)
    (work / "gt.json").write_text(json.dumps(ground_truth()))
    (work / "home").mkdir()
    env = {**os.environ, "HOME": str(work / "home")}
    env.pop("YOLO_OFFLINE", None)
    env.pop("YOLO_CONFIG_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(work)], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return work, json.loads((work / "out.json").read_text())


def test_detections_are_coco_results_with_the_ground_truth_ids(predicted):
    _, out = predicted
    detections = out["low"]
    assert detections, "an untrained one-class head still scores above 0.001"
    sizes = {i: (w, h) for i, _, w, h in IMAGES}
    assert {d["image_id"] for d in detections} == set(sizes)  # every image, and only those of the ground truth
    for d in detections:
        assert set(d) == {"image_id", "category_id", "bbox", "score"}
        assert type(d["image_id"]) is int and d["category_id"] == 1
        assert len(d["bbox"]) == 4 and all(type(v) is float for v in d["bbox"])
        x, y, w, h = d["bbox"]
        width, height = sizes[d["image_id"]]
        assert 0 <= x and 0 <= y and w >= 0 and h >= 0  # pixels of the original image, not of the 64 x 64 input
        assert x + w <= width + 0.01 and y + h <= height + 0.01
        assert type(d["score"]) is float and 0.001 <= d["score"] <= 1


def test_boxes_match_ultralytics_on_the_same_image(predicted):
    _, out = predicted
    mine = sorted((d["bbox"], d["score"]) for d in out["batch1"] if d["image_id"] == 3)
    reference = sorted((d["bbox"], d["score"]) for d in coco_results(3, **out["reference_b"]))
    assert len(mine) == len(reference) > 0
    for (box, score), (ref_box, ref_score) in zip(mine, reference):
        assert box == pytest.approx(ref_box, abs=0.01) and score == pytest.approx(ref_score)


def test_confidence_threshold_applies_and_empty_output_is_a_list(predicted):
    _, out = predicted
    assert out["high"] == []
    row = evaluate_detections(ground_truth(), out["low"], conf_threshold=0.25, ap_method="coco_101")
    assert 0.0 <= row["map50"] <= 1.0 and row["n_detections"] == len(out["low"])


def test_an_image_of_another_size_than_the_ground_truth_is_refused(predicted):
    _, out = predicted
    assert "a.jpg" in out["size_error"] and "(48, 80)" in out["size_error"]


def test_nothing_is_written_outside_the_config_folder(predicted):
    work, _ = predicted
    assert not (work / "runs").exists()  # ultralytics' default output folder under the working directory
    assert not [p for p in (work / "home").rglob("*") if "ltralytics" in str(p)]  # no settings or fonts at home
    assert (work / "config" / "Ultralytics" / "settings.json").exists()


def test_missing_image_is_reported_before_ultralytics_loads(tmp_path, monkeypatch):
    write_jpeg(tmp_path / "a.jpg", 8, 8)
    gt = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "gone.jpg"}]}
    with pytest.raises(FileNotFoundError, match="1 ground-truth images.*gone.jpg"):
        image_paths(tmp_path, gt)

    def load_ultralytics(config_dir):
        raise AssertionError("ultralytics set up before the images were checked")

    monkeypatch.setattr("cg2real.detector.predict.ensure_offline_ultralytics", load_ultralytics)
    with pytest.raises(FileNotFoundError, match="gone.jpg"):
        predict_coco(tmp_path / "none.pt", tmp_path, gt, 64, 0.001, 0.7, "cpu", 1, tmp_path / "config")


def test_ultralytics_imported_without_offline_switches_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ultralytics", types.ModuleType("ultralytics"))
    monkeypatch.delenv("YOLO_OFFLINE", raising=False)
    with pytest.raises(RuntimeError, match="imported before"):
        ensure_offline_ultralytics(tmp_path)
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    ensure_offline_ultralytics(tmp_path)  # already configured: nothing to do


def test_coco_results_convert_corners_to_width_and_height():
    got = coco_results(5, [[1.0, 2.0, 11.5, 22.25]], [0.5])
    assert got == [{"image_id": 5, "category_id": 1, "bbox": [1.0, 2.0, 10.5, 20.25], "score": 0.5}]
