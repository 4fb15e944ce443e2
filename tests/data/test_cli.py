"""The data stage's command line: the target count reaches the filter of its data set only, and the
export takes data.export as --settings."""

import json

import cv2
import pandas as pd
import pytest

from cg2real.__main__ import main
from tests.conftest import write_jpeg

FILTER = json.dumps({"min_height_fraction": 0.9, "min_area_fraction": 0.0, "exclude_occluded": False,
                     "exclude_truncated": False, "box_tolerance_px": 2.0})


@pytest.fixture
def split(tmp_path):
    """Three 160x90 frames whose persons are 30, 60 and 80 px tall."""
    frames = []
    for i, height in enumerate((30, 60, 80)):
        write_jpeg(tmp_path / "images" / f"f{i}.jpg", 160, 90)
        frames.append({"name": f"f{i}.jpg", "labels": [
            {"category": "person", "box2d": {"x1": 10, "y1": 5, "x2": 30, "y2": 5 + height}}]})
    (tmp_path / "labels.json").write_text(json.dumps(frames))
    return tmp_path


def select(folder, *extra):
    args = ["select-bdd100k", "--labels", str(folder / "labels.json"), "--images", str(folder / "images"),
            "--settings", json.dumps({"person_categories": ["person"]}), "--filter", FILTER,
            "--out", str(folder / "manifest.csv"), *extra]
    return main(args)


def kept(folder):
    table = pd.read_csv(folder / "manifest.csv")
    return sorted(table.loc[table["kept"], "name"])


def test_the_count_of_the_named_data_set_applies(split):
    counts = json.dumps({"real_train": 2, "real_val": None, "cg": 1})
    assert select(split, "--dataset", "real_train", "--target-counts", counts) == 0
    assert kept(split) == ["f1.jpg", "f2.jpg"]


@pytest.mark.parametrize("extra", [
    ["--dataset", "real_val", "--target-counts", json.dumps({"real_train": 2, "real_val": None})],
    ["--dataset", "real_val", "--target-counts", json.dumps({"real_train": 2})],
    ["--target-counts", json.dumps({"real_train": 2})],  # no data set named: none applies
])
def test_without_a_count_for_the_data_set_the_thresholds_apply(split, extra, caplog):
    assert select(split, *extra) == 2  # min_height_fraction 0.9 keeps nothing
    assert "kept 0 of 3 frames" in caplog.text


@pytest.mark.parametrize("counts, message", [
    ("[2]", "must be an object of counts per data set"),
    ('{"real_train": 0}', "real_train must be a positive integer or null, got 0"),
    ('{"real_train": "all"}', "real_train must be a positive integer or null, got 'all'"),
    ("{real_train: 2}", "--target-counts is not valid JSON"),
])
def test_bad_counts_fail_clearly(split, counts, message, caplog):
    assert select(split, "--dataset", "real_train", "--target-counts", counts) == 2
    assert message in caplog.text


def test_export_takes_its_settings_and_aligns(split):
    counts = json.dumps({"real_train": 3})
    assert select(split, "--dataset", "real_train", "--target-counts", counts) == 0
    yolo, coco = split / "yolo", split / "gt.json"
    settings = json.dumps({"link_mode": "copy", "align_size": [320, 90]})
    args = ["export-detector-set", "--manifest", str(split / "manifest.csv"), "--out", str(yolo),
            "--frames", "kept", "--settings", settings, "--coco", str(coco)]
    assert main(args) == 0
    assert cv2.imread(str(yolo / "images/f2.jpg")).shape == (90, 320, 3)
    assert json.loads(coco.read_text())["annotations"][2]["bbox"] == [20.0, 5.0, 40.0, 80.0]


def test_export_settings_are_checked(split, caplog):
    assert select(split, "--dataset", "real_train", "--target-counts", json.dumps({"real_train": 3})) == 0
    args = ["export-detector-set", "--manifest", str(split / "manifest.csv"), "--out", str(split / "yolo"),
            "--frames", "kept", "--settings", json.dumps({"link_mode": "copy"})]
    assert main(args) == 2
    assert "missing key(s) in 'data.export': align_size" in caplog.text
