import json

import pytest

from cg2real.data.bdd100k import load_label_file, read_bdd100k
from cg2real.errors import DataError

PERSONS = ["person", "pedestrian"]


def test_mot2020_pedestrians_and_capitalised_attributes(fixtures):
    frames = read_bdd100k(fixtures / "bdd100k/mot2020_b1c66a42.json", fixtures, PERSONS)
    assert len(frames) == 202
    # the file's 191 `pedestrian` boxes, and no rider (a rider is not a person here)
    assert sum(len(f.persons) for f in frames) == 191
    flags = {p.occluded for f in frames for p in f.persons}
    assert flags == {True, False}  # "Occluded" read despite its capital letter


def test_scalabel_layout_has_same_pedestrians(fixtures):
    old = read_bdd100k(fixtures / "bdd100k/mot2020_b1c66a42.json", fixtures, PERSONS)
    new = read_bdd100k(fixtures / "bdd100k/scalabel_track_b1c66a42.json", fixtures, PERSONS)
    assert [f.persons for f in old] == [f.persons for f in new]


def test_null_labels_and_other_person(fixtures):
    frames = read_bdd100k(fixtures / "bdd100k/ignore_annotation_null_labels.json", fixtures, PERSONS)
    assert [len(f.persons) for f in frames] == [1, 0]  # "other person" is not counted
    assert frames[0].persons[0].occluded is True


@pytest.mark.parametrize("name", ["scalabel_2021_val_frame.json", "scalabel_2020_val_frame.json", "scalabel_det.json"])
def test_frames_without_persons_and_frame_attributes(fixtures, name):
    (frame,) = read_bdd100k(fixtures / "bdd100k" / name, fixtures, PERSONS)
    assert frame.name == "b1c66a42-6f7d68ca.jpg"
    assert frame.persons == ()
    assert frame.problem is None


def test_frame_attributes_and_scalabel_object(tmp_path):
    labels = tmp_path / "det.json"
    frame = {
        "name": "a.jpg",
        "attributes": {"weather": "clear", "scene": "city street", "timeofday": "night"},
        "labels": [{"id": "7", "category": "pedestrian", "box2d": {"x1": 1, "y1": 2, "x2": 3, "y2": 9}}],
    }
    labels.write_text(json.dumps({"frames": [frame], "config": {}}))
    (read,) = read_bdd100k(labels, tmp_path, PERSONS)
    assert read.attributes == {"weather": "clear", "scene": "city street", "timeofday": "night"}
    assert read.persons[0].box.height == 7


def test_non_numeric_box_marks_the_frame(tmp_path):
    labels = tmp_path / "l.json"
    labels.write_text(json.dumps([{"name": "a.jpg", "labels": [{"category": "person", "box2d": {"x1": "?"}}]}]))
    (frame,) = read_bdd100k(labels, tmp_path, PERSONS)
    assert frame.problem == "malformed_box"


@pytest.mark.parametrize(
    "content, message",
    [("", "empty"), ("[{", "not valid JSON"), ("[]", "no frames"), ('{"a": 1}', "must hold a JSON list")],
)
def test_bad_label_files_raise_clear_errors(tmp_path, content, message):
    path = tmp_path / "labels.json"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_label_file(path)


def test_missing_label_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_label_file(tmp_path / "nope.json")
