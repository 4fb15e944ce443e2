"""The data-stage steps end to end on small sets: a target count of kept frames, crops from one decode."""

import json
import logging
import re
from pathlib import Path

import cv2
import pandas as pd
import pytest
import yaml

from cg2real.data.bdd100k import BDD100KSettings
from cg2real.data.crop import CropSettings
from cg2real.data.export import ExportSettings
from cg2real.data.manifest import read_manifest
from cg2real.data.prepare import select_bdd100k, write_crops
from cg2real.data.select import FilterSettings
from cg2real.data.summary import summary_counts
from cg2real.errors import DataError
from cg2real.settings import settings_from_mapping
from tests.conftest import write_jpeg

READER = BDD100KSettings(("person", "pedestrian"))
FILTER = FilterSettings(min_height_fraction=0.9, min_area_fraction=0.0, exclude_occluded=False,
                        exclude_truncated=False, box_tolerance_px=2.0)


@pytest.fixture
def genuine_frames(fixtures, tmp_path):
    """The genuine 2018 per-image labels, each with a 1280x720 JPEG of its own."""
    labels = fixtures / "bdd100k/per_image_2018"
    for path in labels.glob("*.json"):
        write_jpeg(tmp_path / "images" / f"{path.stem}.jpg", 1280, 720)
    return labels, tmp_path / "images"


@pytest.mark.parametrize("target, kept", [
    (1, {"d4c3130d-ede98fc6.jpg"}),
    (2, {"d4c3130d-ede98fc6.jpg", "d4c68fe5-90f87e8c.jpg"}),
    (3, {"d4c3130d-ede98fc6.jpg", "d4c68fe5-90f87e8c.jpg", "d4c9c998-cd63b211.jpg"}),
])
def test_target_count_on_the_genuine_labels(genuine_frames, tmp_path, caplog, target, kept):
    """Largest persons (by area) of the four frames with persons: 186.3, 160.1, 104.7, 26.4 px of 720."""
    labels, images = genuine_frames
    manifest = tmp_path / "manifest.csv"
    with caplog.at_level(logging.INFO):
        select_bdd100k(labels, images, READER, FILTER, manifest, workers=1, target_count=target)
    rows = read_manifest(manifest)
    assert {r.name for r in rows if r.kept} == kept
    found = rf"height threshold ([\d.]+) of the frame height keeps {target} frames \(target {target}\)"
    logged = re.search(found, caplog.text)
    threshold = float(logged.group(1))
    assert threshold == pytest.approx(min(r.largest.height / r.height for r in rows if r.kept), abs=1e-5)
    assert summary_counts(rows)["kept_min_height_fraction"] == pytest.approx(threshold, abs=1e-5)
    assert [r.reason for r in rows if r.name == "d4c3130d-ffcba8f2.jpg"] == ["no_person"]


def test_without_a_target_the_configured_threshold_decides(genuine_frames, tmp_path):
    labels, images = genuine_frames
    with pytest.raises(DataError, match="kept 0 of 5 frames"):  # nobody is 90% of the frame tall
        select_bdd100k(labels, images, READER, FILTER, tmp_path / "m.csv", workers=1)


def generated_split(folder, heights, frame_height=90):
    """One 160 x `frame_height` JPEG per height, each with one person of that height."""
    entries = []
    for i, height in enumerate(heights):
        write_jpeg(folder / "images" / f"f{i}.jpg", 160, frame_height, value=40 + 10 * i)
        box = {"x1": 20.0, "y1": 2.0, "x2": 40.0, "y2": 2.0 + height}
        entries.append({"name": f"f{i}.jpg", "labels": [{"category": "person", "box2d": box}]})
    (folder / "labels.json").write_text(json.dumps(entries))
    return folder / "labels.json", folder / "images"


def test_target_count_on_generated_frames_then_one_crop_each(tmp_path, caplog):
    heights = [9, 72, 36, 18, 81, 45, 27, 63]
    labels, images = generated_split(tmp_path, heights)
    (images / "f3.jpg").write_bytes((images / "f3.jpg").read_bytes()[:300])  # cut short: unusable, never a candidate
    manifest = tmp_path / "manifest.csv"
    with caplog.at_level(logging.INFO):
        select_bdd100k(labels, images, READER, FILTER, manifest, workers=2, target_count=4)
    rows = {r.name: r for r in read_manifest(manifest)}
    assert sorted(n for n, r in rows.items() if r.kept) == ["f1.jpg", "f4.jpg", "f5.jpg", "f7.jpg"]
    assert rows["f3.jpg"].reason == "unreadable_image"
    assert rows["f2.jpg"].reason == "person_too_small" and "below 0.5000" in rows["f2.jpg"].detail
    assert "height threshold 0.5 of the frame height keeps 4 frames (target 4)" in caplog.text

    crops = tmp_path / "crops"
    write_crops(manifest, crops, CropSettings(size=32, max_person_fraction=0.5, pad_mode="reflect", pad_value=0), 2)
    table = pd.read_csv(crops / "crops.csv").set_index("frame")
    assert sorted(table.index) == ["f1.jpg", "f4.jpg", "f5.jpg", "f7.jpg"]
    # each person is shrunk to 16 px (half the crop): scale 16 / height, whatever the decode reduction
    for name, height in (("f1.jpg", 72), ("f4.jpg", 81), ("f5.jpg", 45), ("f7.jpg", 63)):
        assert table.loc[name, "scale"] == pytest.approx(16 / height, abs=1e-6)
        assert cv2.imread(str(crops / table.loc[name, "crop"])).shape == (32, 32, 3)


def test_too_few_candidates_keeps_them_all_and_warns(tmp_path, caplog):
    labels, images = generated_split(tmp_path, [30, 60])
    select_bdd100k(labels, images, READER, FILTER, tmp_path / "m.csv", workers=1, target_count=5)
    assert sum(r.kept for r in read_manifest(tmp_path / "m.csv")) == 2
    assert "only 2 frames pass the other criteria, fewer than the target 5" in caplog.text


def test_the_paper_config_aligns_sizes_and_targets_the_papers_counts():
    """config/paper.yaml: SYNTHIA brought to BDD100K's 1280x720, and 4,822 + 3,163 frames kept
    (paper 000, sections 3.3 and 4.1); the demo keeps its thresholds and frame sizes."""
    root = Path(__file__).resolve().parents[2]
    paper, demo = (yaml.safe_load((root / name).read_text())["data"] for name in ("config/paper.yaml", "config.yaml"))
    for data in (paper, demo):  # the sections as the rules pass them
        export = {k: v for k, v in data["export"].items() if k != "val_frames"}
        settings_from_mapping(ExportSettings, export, "data.export")
        thresholds = {k: v for k, v in data["filter"].items() if k != "target_count"}
        settings_from_mapping(FilterSettings, thresholds, "data.filter")
    assert paper["export"]["align_size"] == [1280, 720]
    assert paper["filter"]["target_count"] == {"real_train": 4822, "cg": 3163}
    assert demo["export"]["align_size"] is None and set(demo["filter"]["target_count"].values()) == {None}
