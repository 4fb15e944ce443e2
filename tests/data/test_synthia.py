import json

import cv2
import numpy as np
import pytest

from cg2real.boxes import Box
from cg2real.data.synthia import (
    SynthiaLabelSettings,
    detect_layout,
    label_box_source,
    person_boxes_from_labels,
    read_box_file,
    read_label_png,
    read_synthia_frame,
)
from cg2real.errors import DataError

SETTINGS = SynthiaLabelSettings(person_classes=(10,), min_component_pixels=4)


def test_genuine_seqs_label_png_channels(fixtures):
    """The real SEQS frame: class ids come from R (OpenCV channel 2), instances from G."""
    classes, instances = read_label_png(fixtures / "synthia_seqs/GT/LABELS/000000.png")
    assert classes.shape == (760, 1280)
    assert set(np.unique(classes)) == {0, 1, 2, 3, 5, 6, 7, 8, 9, 12}
    assert set(np.unique(instances)) == {0, 193, 194, 196, 197, 198, 201, 204, 205}


def test_genuine_seqs_frame_has_no_pedestrian(fixtures):
    root = fixtures / "synthia_seqs"
    assert detect_layout(root) == "seqs"
    frame = read_synthia_frame(root / "RGB/000000.png", root, "seqs", SETTINGS)
    assert frame.problem is None and frame.persons == ()
    assert frame.box_source == "instance_ids"  # SEQS label PNGs carry instance ids


def test_connected_components_split_separate_people_and_drop_noise():
    classes = np.zeros((50, 60), np.int32)
    classes[10:30, 5:12] = 10  # person 1
    classes[12:40, 30:38] = 10  # person 2
    classes[45, 50] = 10  # 1 stray pixel: below min_component_pixels
    classes[0:5, 0:5] = 11  # cyclist, not a pedestrian
    boxes = sorted(person_boxes_from_labels(classes, None, SETTINGS), key=lambda b: b.x1)
    assert boxes == [Box(5, 10, 12, 30), Box(30, 12, 38, 40)]


def test_instance_ids_separate_touching_people():
    classes = np.zeros((40, 40), np.int32)
    instances = np.zeros_like(classes)
    classes[5:35, 5:25] = 10
    instances[5:35, 5:15] = 3
    instances[5:35, 15:25] = 4
    boxes = sorted(person_boxes_from_labels(classes, instances, SETTINGS), key=lambda b: b.x1)
    assert boxes == [Box(5, 5, 15, 35), Box(15, 5, 25, 35)]
    assert label_box_source(classes, instances, SETTINGS) == "instance_ids"
    # without instance ids the two touching people merge: the documented limit of RAND-CVPR16
    assert person_boxes_from_labels(classes, None, SETTINGS) == [Box(5, 5, 25, 35)]
    assert label_box_source(classes, None, SETTINGS) == "connected_components"
    instances[5:35, 20:25] = 0  # part of person 4 without id: boxed as a component, and said so
    assert label_box_source(classes, instances, SETTINGS) == "instance_ids+connected_components"


def _rand_cvpr16_root(tmp_path, grid):
    (tmp_path / "RGB").mkdir()
    (tmp_path / "GTTXT").mkdir()
    cv2.imwrite(str(tmp_path / "RGB/0001.png"), np.zeros((*grid.shape, 3), np.uint8))
    np.savetxt(tmp_path / "GTTXT/0001.txt", grid, fmt="%d", delimiter=" ")
    return tmp_path


def test_rand_cvpr16_text_grid(tmp_path):
    grid = np.zeros((24, 32), np.int32)
    grid[4:20, 10:16] = 10
    root = _rand_cvpr16_root(tmp_path, grid)
    assert detect_layout(root) == "rand_cvpr16"
    frame = read_synthia_frame(root / "RGB/0001.png", root, "rand_cvpr16", SETTINGS)
    assert [p.box for p in frame.persons] == [Box(10, 4, 16, 20)]
    assert frame.box_source == "connected_components"


def test_bad_or_missing_label_grid_marks_frame(tmp_path):
    root = _rand_cvpr16_root(tmp_path, np.zeros((8, 8), np.int32))
    (root / "GTTXT/0001.txt").write_text("1 2 x\n")
    assert read_synthia_frame(root / "RGB/0001.png", root, "rand_cvpr16", SETTINGS).problem == "malformed_labels"
    (root / "GTTXT/0001.txt").unlink()
    assert read_synthia_frame(root / "RGB/0001.png", root, "rand_cvpr16", SETTINGS).problem == "missing_labels"


def test_box_file_csv_overrides_labels(tmp_path):
    root = _rand_cvpr16_root(tmp_path, np.zeros((8, 8), np.int32))
    box_file = tmp_path / "boxes.csv"
    box_file.write_text("name,x1,y1,x2,y2\n0001.png,1,2,5,7\n")
    (frame,) = read_box_file(box_file, root)
    assert [p.box for p in frame.persons] == [Box(1, 2, 5, 7)]
    box_file.write_text("name,x1,y1,x2,y2\nother.png,1,2,5,7\n")
    with pytest.raises(DataError, match="not in"):
        read_box_file(box_file, root)


def test_layout_not_recognised(tmp_path):
    with pytest.raises(DataError, match="GTTXT"):
        detect_layout(tmp_path)


def test_box_file_json_keeps_where_and_why_an_entry_is_broken(tmp_path):
    root = _rand_cvpr16_root(tmp_path, np.zeros((8, 8), np.int32))
    box_file = tmp_path / "boxes.json"
    person = {"category": "person", "box2d": {"x1": 1, "y1": 2, "x2": "5", "y2": 7}}
    box_file.write_text(json.dumps([{"name": "0001.png", "labels": [person]}, {"labels": []}]))
    frames = read_box_file(box_file, root)
    assert [(f.name, f.problem) for f in frames] == [("0001.png", "malformed_box"), ("boxes.json#1", "malformed_label")]
    assert frames[0].detail.startswith("boxes.json entry 0: ")
