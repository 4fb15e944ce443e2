"""The CLI on small hand-made data sets with bad files: skips are recorded, fatal problems are clear."""

import importlib.metadata
import json

import pandas as pd
import pytest

from cg2real.__main__ import build_parser, main
from tests.conftest import write_jpeg

FILTER = json.dumps(
    {"min_height_fraction": 0.2, "min_area_fraction": 0.0, "exclude_occluded": False,
     "exclude_truncated": False, "box_tolerance_px": 2.0}
)

EXPORT = json.dumps({"link_mode": "copy", "align_size": None})


def person(x1, y1, x2, y2):
    return {"category": "person", "box2d": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}}


@pytest.fixture
def bdd(tmp_path):
    images = tmp_path / "images"
    for name in ("good", "small", "empty", "badbox"):
        write_jpeg(images / f"{name}.jpg", 160, 90)
    (images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    frames = [
        {"name": "good.jpg", "labels": [person(10, 10, 40, 80)]},
        {"name": "small.jpg", "labels": [person(10, 10, 14, 15)]},
        {"name": "empty.jpg", "labels": None},
        {"name": "badbox.jpg", "labels": [person(50, 10, 40, 80)]},
        {"name": "corrupt.jpg", "labels": [person(10, 10, 40, 80)]},
        {"name": "missing.jpg", "labels": [person(10, 10, 40, 80)]},
    ]
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(frames))
    return labels, images


def select(labels, images, out, filter_json=FILTER, *extra):
    return main(["select-bdd100k", "--labels", str(labels), "--images", str(images),
                 "--settings", json.dumps({"person_categories": ["person"]}), "--filter", filter_json,
                 "--out", str(out), "--workers", "2", *extra])


def test_bad_frames_are_recorded_not_lost(tmp_path, bdd, caplog):
    labels, images = bdd
    manifest = tmp_path / "manifest.csv"
    assert select(labels, images, manifest) == 0
    table = pd.read_csv(manifest).set_index("name")
    assert table["reason"].to_dict() == {
        "good.jpg": "kept", "small.jpg": "person_too_small", "empty.jpg": "no_person",
        "badbox.jpg": "malformed_box", "corrupt.jpg": "unreadable_image", "missing.jpg": "missing_image",
    }
    assert "3 frames skipped for bad files or labels" in caplog.text

    yolo = tmp_path / "yolo"
    coco = tmp_path / "gt.json"
    args = ["export-detector-set", "--manifest", str(manifest), "--out", str(yolo), "--frames", "all", "--coco", str(coco),
            "--settings", EXPORT]
    assert main(args) == 0
    # every usable frame is a validation image, including the ones without a (large) person
    assert sorted(p.name for p in (yolo / "images").iterdir()) == ["empty.jpg", "good.jpg", "small.jpg"]
    assert len(json.loads(coco.read_text())["annotations"]) == 2


def test_filter_keeping_nothing_fails_clearly_and_its_manifest_survives(tmp_path, bdd, caplog):
    labels, images = bdd
    strict = json.dumps({**json.loads(FILTER), "min_height_fraction": 1.0})
    kept_copy = tmp_path / "logs" / "select.manifest.csv"
    assert select(labels, images, tmp_path / "m.csv", strict, "--copy-on-failure", str(kept_copy)) == 2
    assert "kept 0 of 6 frames" in caplog.text and "min_height_fraction" in caplog.text
    assert f"Every frame and why it was dropped: {kept_copy}" in caplog.text
    assert pd.read_csv(kept_copy).set_index("name")["reason"]["good.jpg"] == "person_too_small"


def test_repeated_and_unsafe_names_are_dropped_and_counted_once(tmp_path, bdd):
    labels, images = bdd
    write_jpeg(tmp_path / "val" / "secret.jpg", 160, 90)
    frames = json.loads(labels.read_text())
    frames += [{"name": "good.jpg", "labels": [person(10, 10, 40, 80)]},  # the same frame listed twice
               {"name": "../val/secret.jpg", "labels": [person(10, 10, 40, 80)]},
               {"name": str(tmp_path / "val" / "secret.jpg"), "labels": [person(10, 10, 40, 80)]}]
    labels.write_text(json.dumps(frames))
    manifest = tmp_path / "manifest.csv"
    assert select(labels, images, manifest) == 0
    table = pd.read_csv(manifest, keep_default_na=False)
    assert table["reason"].tolist()[-3:] == ["duplicate", "unsafe_name", "unsafe_name"]
    assert table["detail"].tolist()[-3] == "labels.json frame 6: name 'good.jpg' already given by frame 0"
    assert table["reason"].tolist().count("kept") == 1

    yolo, coco = tmp_path / "yolo", tmp_path / "gt.json"
    args = ["export-detector-set", "--manifest", str(manifest), "--out", str(yolo), "--frames", "all", "--coco", str(coco),
            "--settings", EXPORT]
    assert main(args) == 0
    assert "secret.jpg" not in {p.name for p in (yolo / "images").iterdir()}
    assert len(json.loads(coco.read_text())["annotations"]) == 2  # good.jpg's box once, small.jpg's


def test_missing_label_file_fails_clearly(tmp_path, caplog):
    assert select(tmp_path / "nope.json", tmp_path, tmp_path / "m.csv") == 2
    assert "BDD100K labels not found" in caplog.text


def test_wrong_settings_type_fails_clearly(tmp_path, bdd, caplog):
    labels, images = bdd
    bad = json.dumps({**json.loads(FILTER), "min_height_fraction": "tall"})
    assert select(labels, images, tmp_path / "m.csv", bad) == 2
    assert "data.filter.min_height_fraction must be of type float" in caplog.text


def test_crop_cli_writes_one_crop_per_kept_frame(tmp_path, bdd):
    labels, images = bdd
    manifest = tmp_path / "m.csv"
    assert select(labels, images, manifest) == 0
    settings = json.dumps({"size": 32, "max_person_fraction": 1.0, "pad_mode": "reflect", "pad_value": 0})
    out = tmp_path / "crops"
    assert main(["crop-persons", "--manifest", str(manifest), "--out", str(out), "--settings", settings]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["crops.csv", "good.png"]
    record = pd.read_csv(out / "crops.csv")
    assert record["scale"].tolist() == pytest.approx([32 / 70])  # 70 px tall person shrunk to the 32 px crop


def test_settings_can_come_from_a_json_or_yaml_file(tmp_path, bdd):
    labels, images = bdd
    (tmp_path / "reader.yaml").write_text("person_categories:\n  - person\n")
    (tmp_path / "filter.json").write_text(FILTER)
    manifest = tmp_path / "m.csv"
    args = ["select-bdd100k", "--labels", str(labels), "--images", str(images), "--settings", f"@{tmp_path / 'reader.yaml'}",
            "--filter", f"@{tmp_path / 'filter.json'}", "--out", str(manifest), "--workers", "1"]
    assert main(args) == 0
    assert pd.read_csv(manifest).set_index("name")["reason"]["good.jpg"] == "kept"


def test_unreadable_settings_file_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["crop-persons", "--manifest", "m.csv", "--out", "o", "--settings", f"@{tmp_path}/nope.yaml"])
    assert stop.value.code == 2
    assert f"argument --settings: cannot read settings file {tmp_path}/nope.yaml" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("size: [32\n")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["crop-persons", "--manifest", "m.csv", "--out", "o", "--settings", f"@{tmp_path}/bad.yaml"])
    assert f"settings file {tmp_path}/bad.yaml is not valid YAML" in capsys.readouterr().err


def test_help_says_what_the_tool_is_and_lists_each_stage_with_its_subcommands():
    text = build_parser().format_help()
    assert text.count("CG-to-real image translation as training data for a person detector") == 1
    assert "Argument parsing only" not in text
    stages = {line.split()[0]: line for line in text.split("stages, in workflow order, and their subcommands:\n")[1].splitlines()[:8]}
    assert list(stages) == ["data", "cyclegan", "compact", "translate", "metrics", "detector", "report", "cluster"]
    assert "select-bdd100k, select-synthia, crop-persons" in stages["data"] and "train-detector" in stages["detector"]


def test_version_is_the_installed_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"cg2real {importlib.metadata.version('cg2real')}\n"
