"""The demo generator: reproducible files in the BDD100K / SYNTHIA layouts, exact labels, distinct looks."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cg2real.data.demo import (
    CLASS_COLOURS,
    PEDESTRIAN,
    SKY,
    DemoSettings,
    frames_without_persons,
    make_demo_datasets,
    render_frame,
)

SETTINGS = DemoSettings(
    seed=3,
    real_train_frames=8,
    real_val_frames=4,
    real_width=192,
    real_height=108,
    cg_frames=8,
    cg_width=160,
    cg_height=120,
    no_person_fraction=0.25,
)
SAMPLE_FILES = (
    "bdd100k/labels/bdd100k_labels_images_train.json",
    "bdd100k/images/100k/val/demo-real-val-000001.jpg",
    "synthia/RGB/demo-cg-000002.png",
    "synthia/GTTXT/demo-cg-000002.txt",
)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    make_demo_datasets(out, SETTINGS, progress=False)
    return out


def rendered(style: str, count: int, width: int, height: int) -> list:
    return [render_frame(np.random.default_rng([11, i]), width, height, style, True) for i in range(count)]


def test_same_settings_give_identical_files_and_another_seed_differs(demo_dir: Path, tmp_path: Path) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    make_demo_datasets(again, SETTINGS, progress=False)
    make_demo_datasets(other, DemoSettings(**{**SETTINGS.__dict__, "seed": 4}), progress=False)
    for name in SAMPLE_FILES:
        assert (again / name).read_bytes() == (demo_dir / name).read_bytes(), name
        assert (other / name).read_bytes() != (demo_dir / name).read_bytes(), name


def test_bdd_labels_have_the_2018_layout_and_valid_person_boxes(demo_dir: Path) -> None:
    for split, count in (("train", SETTINGS.real_train_frames), ("val", SETTINGS.real_val_frames)):
        frames = json.loads((demo_dir / f"bdd100k/labels/bdd100k_labels_images_{split}.json").read_text())
        assert len(frames) == count
        with_person = 0
        for frame in frames:
            assert set(frame) == {"name", "attributes", "timestamp", "labels"}
            assert set(frame["attributes"]) == {"weather", "scene", "timeofday"}
            image = cv2.imread(str(demo_dir / "bdd100k/images/100k" / split / frame["name"]))
            assert image.shape == (SETTINGS.real_height, SETTINGS.real_width, 3)
            persons = [label for label in frame["labels"] if label["category"] == "person"]
            with_person += bool(persons)
            for label in frame["labels"]:
                assert {"id", "category", "attributes", "manualShape", "manualAttributes", "box2d"} <= set(label)
                assert set(label["attributes"]) == {"occluded", "truncated", "trafficLightColor"}
                box = label["box2d"]
                assert 0 <= box["x1"] < box["x2"] <= SETTINGS.real_width
                assert 0 <= box["y1"] < box["y2"] <= SETTINGS.real_height
        assert 0 < with_person < count
        assert with_person >= count / 2


def test_label_ids_are_unique_within_a_split(demo_dir: Path) -> None:
    frames = json.loads((demo_dir / "bdd100k/labels/bdd100k_labels_images_train.json").read_text())
    ids = [label["id"] for frame in frames for label in frame["labels"]]
    assert len(ids) == len(set(ids)) > 0


def test_share_of_frames_without_persons_is_exact() -> None:
    assert len(frames_without_persons(0, 0, 100, 0.15)) == 15
    assert frames_without_persons(0, 0, 100, 0.0) == set()
    assert frames_without_persons(0, 0, 10, 0.3) != frames_without_persons(0, 1, 10, 0.3)


@pytest.mark.parametrize("style", ["photo", "cg"])
def test_boxes_are_tight_around_the_visible_pixels(style: str) -> None:
    for frame in rendered(style, 12, 192, 108):
        for label in frame.labels:
            ys, xs = np.nonzero(frame.instances == label.instance_id)
            assert label.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            if label.category == "person":
                assert np.all(frame.classes[ys, xs] == PEDESTRIAN)


def test_truncated_persons_touch_the_border_and_flags_occur() -> None:
    persons = [p for frame in rendered("photo", 30, 192, 108) for p in frame.persons]
    assert any(p.occluded for p in persons) and any(p.truncated for p in persons)
    assert not all(p.occluded or p.truncated for p in persons)
    for x1, y1, x2, y2 in (p.box for p in persons if p.truncated):
        assert x1 == 0 or y1 == 0 or x2 == 192 or y2 == 108


def test_gttxt_grid_matches_the_label_and_rgb_images(demo_dir: Path) -> None:
    empty = frames_without_persons(SETTINGS.seed, 2, SETTINGS.cg_frames, SETTINGS.no_person_fraction)
    for index in range(SETTINGS.cg_frames):
        name = f"demo-cg-{index:06d}"
        grid = np.loadtxt(demo_dir / "synthia/GTTXT" / f"{name}.txt", dtype=np.int32, ndmin=2)
        rgb = cv2.imread(str(demo_dir / "synthia/RGB" / f"{name}.png"))
        colour = cv2.imread(str(demo_dir / "synthia/GT" / f"{name}.png"))
        assert grid.shape == rgb.shape[:2] == colour.shape[:2] == (SETTINGS.cg_height, SETTINGS.cg_width)
        assert grid.min() >= 0 and grid.max() <= 11
        assert np.array_equal(colour[..., ::-1], CLASS_COLOURS[grid])
        assert (PEDESTRIAN in grid) == (index not in empty)


def test_cg_persons_are_separate_connected_components() -> None:
    for frame in rendered("cg", 20, 160, 120):
        mask = (frame.classes == PEDESTRIAN).astype(np.uint8)
        assert cv2.connectedComponents(mask, connectivity=8)[0] - 1 == len(frame.persons)
        widened = cv2.dilate(mask, np.ones((3, 3), np.uint8))  # a 2 px gap survives widening by 1 px
        assert cv2.connectedComponents(widened, connectivity=8)[0] - 1 == len(frame.persons)


def sky_grain(frame) -> float:
    """Spread of the Laplacian inside the sky (away from its edges): sensor noise, not content."""
    sky = cv2.erode((frame.classes == SKY).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    grey = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(grey, cv2.CV_32F)[sky].std())


def chroma(frame) -> float:
    image = frame.image.astype(np.int16)
    return float((image.max(axis=2) - image.min(axis=2)).mean())


def test_photo_frames_are_grainier_and_cg_frames_more_saturated() -> None:
    photos, renders = rendered("photo", 10, 192, 144), rendered("cg", 10, 192, 144)
    assert min(sky_grain(f) for f in photos) > 5 * max(sky_grain(f) for f in renders) + 1
    assert np.mean([chroma(f) for f in renders]) > 1.5 * np.mean([chroma(f) for f in photos])


def blue_over_red(frame) -> float:
    image = frame.image.astype(np.float64)
    return float(image[..., 2].mean() / image[..., 0].mean())


def test_the_domains_differ_in_palette_and_night_persons_stay_visible() -> None:
    """The gap is one fixed colour grade per domain (cool renders, warm camera), not darkness: a
    person in a night photo is still well above black (issue 17: the demo CycleGAN must close it)."""
    photos, renders = rendered("photo", 24, 192, 108), rendered("cg", 10, 192, 144)
    assert min(blue_over_red(f) for f in renders) > max(blue_over_red(f) for f in photos)
    night = [f for f in photos if f.attributes["timeofday"] == "night"]
    assert night and len(night) < len(photos)
    for frame in night:
        grey = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        assert grey[frame.classes == PEDESTRIAN].mean() > 30
