"""Assembly of a condition's training set: seeded draws, links, labels, no train/val overlap."""

from __future__ import annotations

import json
import os
import shutil
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from cg2real.detector.dataset import (FrameSource, assemble_condition_set, hold_out_selection_split, parse_count,
                                      sample_names)
from cg2real.errors import DataError


def yolo_set(root: Path, stems: list[str], suffix: str = ".jpg") -> Path:
    """A YOLO folder whose label of frame i holds i boxes; every image's content differs (noise)."""
    rng = np.random.default_rng(zlib.crc32(str(root).encode()))
    for i, stem in enumerate(stems):
        (root / "images").mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(root / "images" / f"{stem}{suffix}"), rng.integers(0, 256, (24, 32, 3), np.uint8))
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / f"{stem}.txt").write_text("0 0.5 0.5 0.2 0.4\n" * i)
    return root


@pytest.fixture
def sets(tmp_path: Path) -> dict[str, Path]:
    return {
        "real": yolo_set(tmp_path / "real", [f"r{i:02d}" for i in range(10)]),
        "cg": yolo_set(tmp_path / "cg", [f"c{i:02d}" for i in range(8)], ".png"),
        "translated": yolo_set(tmp_path / "translated", [f"c{i:02d}" for i in range(8)], ".png"),
        "val": yolo_set(tmp_path / "val", [f"v{i:02d}" for i in range(4)]),
    }


def test_sample_is_seeded_sorted_and_bounded():
    names = [f"n{i}" for i in range(20)]
    first = sample_names(names, 5, seed=1, what="x")
    assert first == sample_names(names, 5, seed=1, what="x") == sorted(first)
    assert first != sample_names(names, 5, seed=2, what="x")
    assert sample_names(names, "all", seed=1, what="x") == names
    with pytest.raises(DataError, match="21 frames asked for but only 20"):
        sample_names(names, 21, seed=1, what="x")


@pytest.mark.parametrize("text", ["0", "-3", "many"])
def test_bad_counts_are_refused(text):
    with pytest.raises(DataError, match="positive integer or 'all'"):
        parse_count(text)


def test_condition_set_links_frames_and_labels(sets, tmp_path):
    out = tmp_path / "cond"
    selection = assemble_condition_set(
        [FrameSource(sets["real"], 4, "real_"), FrameSource(sets["cg"], "all", "cg_")], sets["val"], 0, out)
    train_images = sorted((out / "train/images").iterdir())
    assert len(train_images) == selection["train_frames"] == 4 + 8
    assert sum(p.name.startswith("real_") for p in train_images) == 4
    for image in train_images:  # each link reaches its source image, with the label of that frame
        source = image.resolve()
        assert source.parent.parent in (sets["real"].resolve(), sets["cg"].resolve())
        label = out / "train/labels" / (image.stem + ".txt")
        assert label.read_text() == (source.parent.parent / "labels" / (source.stem + ".txt")).read_text()
    assert not Path(os.readlink(train_images[0])).is_absolute()
    assert len(list((out / "val/images").iterdir())) == 4
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert (Path(data["path"]) / data["train"]).resolve() == (out / "train/images").resolve()
    assert data["names"] == {0: "person"}
    recorded = json.loads((out / "selection.json").read_text())
    assert recorded["sources"][0]["frames"] == [p.name.removeprefix("real_") for p in train_images if p.name.startswith("real_")]


def test_raw_and_translated_rows_draw_the_same_cg_frames(sets, tmp_path):
    raw = assemble_condition_set([FrameSource(sets["real"], 3, "real_"), FrameSource(sets["cg"], 5, "cg_")],
                                 sets["val"], 7, tmp_path / "b")
    translated = assemble_condition_set([FrameSource(sets["real"], 3, "real_"), FrameSource(sets["translated"], 5, "cg_")],
                                        sets["val"], 7, tmp_path / "c")
    assert [s["frames"] for s in raw["sources"]] == [s["frames"] for s in translated["sources"]]


def test_links_survive_moving_the_results_folder(sets, tmp_path):
    assemble_condition_set([FrameSource(sets["real"], 2, "real_")], sets["val"], 0, tmp_path / "cond")
    moved = tmp_path.rename(tmp_path.with_name(tmp_path.name + "_moved"))
    assert all(p.exists() for p in (moved / "cond/train/images").iterdir())


def test_frames_in_both_train_and_val_are_refused(sets, tmp_path):
    with pytest.raises(DataError, match="also in the validation set"):
        assemble_condition_set([FrameSource(sets["val"], "all", "real_")], sets["val"], 0, tmp_path / "cond")


def test_a_validation_image_copied_under_a_training_name_is_refused(sets, tmp_path):
    shutil.copyfile(sets["val"] / "images" / "v02.jpg", sets["real"] / "images" / "r03.jpg")
    with pytest.raises(DataError, match=r"content of a validation frame .* r03.jpg = v02.jpg"):
        assemble_condition_set([FrameSource(sets["real"], "all", "real_")], sets["val"], 0, tmp_path / "out")
    assemble_condition_set([FrameSource(sets["cg"], "all", "cg_")], sets["val"], 0, tmp_path / "ok")


def test_a_frame_without_label_file_is_named(sets, tmp_path):
    (sets["real"] / "labels/r03.txt").unlink()
    with pytest.raises(DataError, match="r03.txt is missing"):
        assemble_condition_set([FrameSource(sets["real"], "all", "real_")], sets["val"], 0, tmp_path / "cond")


def test_the_selection_split_holds_out_real_frames_only(sets, tmp_path):
    """Rows with and without CG frames lose the same real frames, and no frame is in both parts."""
    a = assemble_condition_set([FrameSource(sets["real"], "all", "real_")], sets["val"], 0, tmp_path / "a")
    b = assemble_condition_set([FrameSource(sets["real"], "all", "real_"), FrameSource(sets["cg"], "all", "cg_")],
                               sets["val"], 0, tmp_path / "b")
    split_a = hold_out_selection_split(tmp_path / "a", 0.3, 5, tmp_path / "split_a")
    split_b = hold_out_selection_split(tmp_path / "b", 0.3, 5, tmp_path / "split_b")
    assert split_a["held_out"] == split_b["held_out"] and split_a["frames"] == 3  # 30% of 10 real frames
    assert all(name.startswith("real_") for name in split_b["held_out"])
    assert split_b["train_frames"] == b["train_frames"] - 3 == 15
    train = {p.name for p in (tmp_path / "split_b/train/images").iterdir()}
    held = {p.name for p in (tmp_path / "split_b/held_out/images").iterdir()}
    assert held == set(split_b["held_out"]) and not train & held and len(train | held) == 18
    for image in held:  # each link reaches the original frame and its label
        assert (tmp_path / "split_b/held_out/images" / image).resolve().parent.parent == sets["real"].resolve()
        assert (tmp_path / "split_b/held_out/labels" / (Path(image).stem + ".txt")).is_file()
    data = yaml.safe_load((tmp_path / "split_b/data.yaml").read_text())
    assert (Path(data["path"]) / data["val"]).resolve() == (tmp_path / "split_b/held_out/images").resolve()
    assert hold_out_selection_split(tmp_path / "b", 0.3, 6, tmp_path / "split_b")["held_out"] != split_b["held_out"]
    assert len(list((tmp_path / "split_b/held_out/images").iterdir())) == 3  # a rerun leaves no stale link


@pytest.mark.parametrize("fraction", [0.01, 1.0])
def test_a_selection_split_with_an_empty_part_is_refused(sets, tmp_path, fraction):
    assemble_condition_set([FrameSource(sets["real"], "all", "real_")], sets["val"], 0, tmp_path / "a")
    with pytest.raises(DataError, match="both need at least one"):
        hold_out_selection_split(tmp_path / "a", fraction, 0, tmp_path / "split")
