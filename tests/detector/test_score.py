"""Table 2 row provenance (training set label, configuration hash) and the evaluation settings of both configs."""

from __future__ import annotations

from pathlib import Path

import yaml

from cg2real.detector.score import EvaluationSettings, config_hash, training_set_label
from cg2real.scoring import AP_METHODS
from cg2real.settings import settings_from_mapping

SELECTION = {"sources": [{"prefix": "real_", "count": 500}, {"prefix": "cg_", "count": 1017}]}


def test_training_set_label_names_the_cg_origin():
    translated = {"condition": {"real": 500, "cg": {"source": "cyclegan", "run": "gpus4", "count": 1017}}}
    assert training_set_label(translated, SELECTION) == "real 500 + CG 1017 (cyclegan gpus4)"
    raw = {"condition": {"real": 500, "cg": {"source": "raw", "count": 1017}}}
    assert training_set_label(raw, SELECTION) == "real 500 + CG 1017 (raw)"
    assert training_set_label({"condition": {"real": 500}}, {"sources": SELECTION["sources"][:1]}) == "real 500"


def test_config_hash_ignores_key_order_but_not_values():
    assert config_hash({"a": 1, "b": {"c": 2}}) == config_hash({"b": {"c": 2}, "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_a_replicate_row_records_its_seed_and_caches_its_detections(tmp_path, monkeypatch):
    import json

    from cg2real.detector import score

    gt = {"images": [{"id": 1, "width": 10, "height": 10}], "categories": [{"id": 1, "name": "person"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "area": 16, "iscrowd": 0}]}
    detections = [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "score": 0.9}]
    monkeypatch.setattr(score, "predict_coco", lambda *args: detections)  # no inference here
    (tmp_path / "coco.json").write_text(json.dumps(gt))
    data = tmp_path / "set"
    data.mkdir()
    (data / "selection.json").write_text(json.dumps({**SELECTION, "train_frames": 1517, "seed": 0}))
    provenance = json.dumps({"condition": {"real": 500}, "detector": {"train": {"seed": 10}}})
    settings = score.EvaluationSettings(predict_conf=0.001, nms_iou=0.6, conf_threshold=0.25,
                                        ap_method="darknet_all_point", batch=1)
    row = score.evaluate_condition("a", tmp_path / "best_map50.pt", data, tmp_path / "coco.json", settings, 64, None,
                                   provenance, tmp_path / "a" / "r2.json", 2, tmp_path / "a" / "r2_detections.json")
    assert row["replicate"] == 2 and row["detector_seed"] == 12 and row["tp"] == 1
    assert row["ap_method"] == "darknet_all_point" and row["map50"] == 1.0
    assert json.loads((tmp_path / "a" / "r2_detections.json").read_text()) == detections
    assert json.loads((tmp_path / "a" / "r2.json").read_text()) == row


def test_the_paper_config_evaluates_as_darknet_and_the_demo_as_pycocotools():
    root = Path(__file__).resolve().parents[2]
    paper, demo = (settings_from_mapping(EvaluationSettings, yaml.safe_load((root / name).read_text())["detector"]
                                         ["evaluate"], "detector.evaluate")
                   for name in ("config/paper.yaml", "config.yaml"))
    assert (paper.ap_method, paper.predict_conf, paper.nms_iou, paper.conf_threshold) == (
        "darknet_all_point", 0.005, 0.45, 0.25)  # darknet's `detector map`
    assert (demo.ap_method, demo.predict_conf, demo.nms_iou) == ("coco_101", 0.001, 0.7)
    schema = yaml.safe_load((root / "schemas/config.schema.yaml").read_text())
    evaluate = schema["properties"]["detector"]["properties"]["evaluate"]["properties"]
    assert tuple(evaluate["ap_method"]["enum"]) == AP_METHODS
