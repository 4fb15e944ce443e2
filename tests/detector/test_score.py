"""Table 2 row provenance: the training set label and the configuration hash."""

from __future__ import annotations

from cg2real.detector.score import config_hash, training_set_label

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
    settings = score.EvaluationSettings(predict_conf=0.001, nms_iou=0.6, conf_threshold=0.25, batch=1)
    row = score.evaluate_condition("a", tmp_path / "best_map50.pt", data, tmp_path / "coco.json", settings, 64, None,
                                   provenance, tmp_path / "a" / "r2.json", 2, tmp_path / "a" / "r2_detections.json")
    assert row["replicate"] == 2 and row["detector_seed"] == 12 and row["tp"] == 1
    assert json.loads((tmp_path / "a" / "r2_detections.json").read_text()) == detections
    assert json.loads((tmp_path / "a" / "r2.json").read_text()) == row
