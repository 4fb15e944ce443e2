"""BDD100K labels in every layout, on genuine files where public copies exist.

Genuine samples (tests/fixtures/README.md): the Scalabel frame files and the MOT 2020 / Scalabel track
files test the list layouts (frame dicts with `name` and `labels`), per_image_2018/ the 2018 per-image
layout. No genuine excerpt of a 2018 combined list or a 2020 det_20 list exists in a public repository:
they hold the same frame dicts as the Scalabel lists, and are tested here on generated files, as are
the hostile cases. The person counts asserted below were verified by parsing the fixture JSON.
"""

import json
import shutil
import tracemalloc

import pytest

from cg2real.data.bdd100k import load_label_file, parse_frame, read_bdd100k
from cg2real.errors import DataError

PERSONS = ["person", "pedestrian"]
# per-image 2018 fixtures: persons per file (all box2d; poly2d objects are areas and lanes)
PER_IMAGE = {
    "d4c3130d-ede98fc6": 6,
    "d4c3130d-ffcba8f2": 0,
    "d4c3bb0d-d6576124": 1,
    "d4c68fe5-90f87e8c": 2,
    "d4c9c998-cd63b211": 6,
}


def box(x1=1, y1=2, x2=3, y2=9):
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2}


def write_json(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    return path


# -- genuine files: list layouts -----------------------------------------------------------------


def test_mot2020_pedestrians_and_capitalised_attributes(fixtures):
    frames = read_bdd100k(fixtures / "bdd100k/mot2020_b1c66a42.json", fixtures, PERSONS)
    assert len(frames) == 202
    # the file's 191 `pedestrian` boxes, and no rider (a rider is not a person here)
    assert sum(len(f.persons) for f in frames) == 191
    flags = {p.occluded for f in frames for p in f.persons}
    assert flags == {True, False}  # "Occluded" read despite its capital letter
    assert all(f.problem is None and f.detail == "" for f in frames)


def test_scalabel_layout_has_same_pedestrians(fixtures):
    old = read_bdd100k(fixtures / "bdd100k/mot2020_b1c66a42.json", fixtures, PERSONS)
    new = read_bdd100k(fixtures / "bdd100k/scalabel_track_b1c66a42.json", fixtures, PERSONS)
    assert sum(len(f.persons) for f in new) == 191
    assert [f.persons for f in old] == [f.persons for f in new]


def test_null_labels_and_other_person(fixtures):
    frames = read_bdd100k(fixtures / "bdd100k/ignore_annotation_null_labels.json", fixtures, PERSONS)
    assert [len(f.persons) for f in frames] == [1, 0]  # "other person" is not counted
    assert frames[0].persons[0].occluded is True
    assert [f.problem for f in frames] == [None, None]


@pytest.mark.parametrize("name", ["scalabel_2021_val_frame.json", "scalabel_2020_val_frame.json", "scalabel_det.json"])
def test_frames_without_persons_and_frame_attributes(fixtures, name):
    (frame,) = read_bdd100k(fixtures / "bdd100k" / name, fixtures, PERSONS)
    assert frame.name == "b1c66a42-6f7d68ca.jpg"
    assert frame.persons == ()
    assert frame.problem is None
    assert frame.attributes == {"weather": "overcast", "scene": "city street", "timeofday": "daytime"}


def test_a_folder_of_list_files_is_read_file_by_file(fixtures, tmp_path):
    """box_track_20 ships one list file per video: point at the split's folder."""
    folder = tmp_path / "box_track_20" / "val"
    folder.mkdir(parents=True)
    shutil.copy(fixtures / "bdd100k/mot2020_b1c66a42.json", folder / "b1c66a42-6f7d68ca.json")
    shutil.copy(fixtures / "bdd100k/ignore_annotation_null_labels.json", folder / "00091078-875c1f73.json")
    frames = read_bdd100k(folder, fixtures, PERSONS)
    assert len(frames) == 2 + 202  # sorted by file name: 00091078... first
    assert frames[0].name == "00091078-875c1f73-0000166.jpg"
    assert sum(len(f.persons) for f in frames) == 1 + 191


def test_a_large_scalabel_object_is_streamed_from_its_frames_member(fixtures, tmp_path):
    """The MOT file's 202 frames wrapped as a Scalabel dataset, the config after the frames (737 kB)."""
    frames = json.loads((fixtures / "bdd100k/mot2020_b1c66a42.json").read_text())
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"frames": frames, "config": {"categories": [{"name": "pedestrian"}]}}))
    read = read_bdd100k(path, fixtures, PERSONS)
    assert (len(read), sum(len(f.persons) for f in read)) == (202, 191)


def test_per_image_objects_gathered_in_one_list_are_read(fixtures, tmp_path):
    folder = fixtures / "bdd100k/per_image_2018"
    entries = [json.loads((folder / f"{stem}.json").read_text()) for stem in PER_IMAGE]
    frames = read_bdd100k(write_json(tmp_path / "gathered.json", entries), tmp_path, PERSONS)
    assert [len(f.persons) for f in frames] == list(PER_IMAGE.values())


# -- genuine files: 2018 per-image layout -----------------------------------------------------------


@pytest.fixture
def per_image_images(tmp_path):
    """An image folder with an empty placeholder <id>.jpg per fixture (the reader opens no image)."""
    images = tmp_path / "images"
    images.mkdir()
    for stem in PER_IMAGE:
        (images / f"{stem}.jpg").touch()
    return images


def test_per_image_folder_gives_the_true_person_counts(fixtures, per_image_images):
    frames = read_bdd100k(fixtures / "bdd100k/per_image_2018", per_image_images, PERSONS)
    assert {f.name: len(f.persons) for f in frames} == {f"{stem}.jpg": n for stem, n in PER_IMAGE.items()}
    assert sum(len(f.persons) for f in frames) == 15
    assert [f.name for f in frames] == sorted(f.name for f in frames)
    assert all(f.problem is None and f.image_path == per_image_images / f.name for f in frames)
    assert all(f.image_path.is_file() for f in frames)


def test_per_image_attributes_and_box_flags(fixtures, per_image_images):
    frames = {f.name: f for f in read_bdd100k(fixtures / "bdd100k/per_image_2018", per_image_images, PERSONS)}
    night = frames["d4c68fe5-90f87e8c.jpg"]
    assert night.attributes == {"weather": "snowy", "scene": "highway", "timeofday": "night"}
    assert [(p.occluded, p.truncated) for p in night.persons] == [(True, False), (True, False)]
    assert night.persons[0].box.x1 == pytest.approx(282.763682)
    assert night.persons[0].box.y2 == pytest.approx(482.361577)
    street = frames["d4c3130d-ede98fc6.jpg"]
    assert [(p.occluded, p.truncated) for p in street.persons] == [(False, False)] + [(True, False)] * 4 + [
        (True, True)
    ]
    assert frames["d4c9c998-cd63b211.jpg"].attributes["weather"] == "partly cloudy"
    assert frames["d4c3bb0d-d6576124.jpg"].attributes["timeofday"] == "night"


def test_one_per_image_file_as_the_labels_path(fixtures, per_image_images):
    (frame,) = read_bdd100k(fixtures / "bdd100k/per_image_2018/d4c68fe5-90f87e8c.json", per_image_images, PERSONS)
    assert (frame.name, len(frame.persons)) == ("d4c68fe5-90f87e8c.jpg", 2)
    (entry,) = load_label_file(fixtures / "bdd100k/per_image_2018/d4c68fe5-90f87e8c.json")
    assert entry["attributes"]["weather"] == "snowy"  # the members after "frames" are kept too
    assert len(parse_frame(entry, per_image_images, PERSONS).persons) == 2


def test_per_image_name_takes_the_suffix_that_exists(fixtures, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "d4c68fe5-90f87e8c.png").touch()
    (images / "d4c3bb0d-d6576124.png").touch()
    (images / "d4c3bb0d-d6576124.jpg").touch()
    names = {f.name for f in read_bdd100k(fixtures / "bdd100k/per_image_2018", images, PERSONS)}
    assert "d4c68fe5-90f87e8c.png" in names  # only the .png exists
    assert "d4c3bb0d-d6576124.jpg" in names  # both exist: .jpg first
    assert "d4c3130d-ffcba8f2.jpg" in names  # none exists: .jpg (the filter reports it missing)


def test_person_drawn_as_polygon_only_is_skipped(tmp_path):
    poly = [[1.0, 2.0, "L"], [5.0, 9.0, "L"], [1.0, 9.0, "L"]]
    objects = [
        {"category": "person", "id": 0, "attributes": {"occluded": False}, "poly2d": poly},
        {"category": "area/drivable", "id": 1, "attributes": {}, "poly2d": poly},
        {"category": "person", "id": 2, "attributes": {"Occluded": False, "truncated": True}, "box2d": box()},
    ]
    labels = write_json(
        tmp_path / "labels/a1.json", {"name": "a1", "frames": [{"timestamp": 10000, "objects": objects}]}
    )
    (frame,) = read_bdd100k(labels.parent, tmp_path, PERSONS)
    assert [(p.occluded, p.truncated) for p in frame.persons] == [(False, True)]


# -- generated files: the list layouts without a public excerpt ------------------------------------


def test_2018_combined_list(tmp_path):
    entries = [
        {
            "name": "a.jpg",
            "attributes": {"weather": "rainy", "scene": "highway", "timeofday": "dawn/dusk"},
            "timestamp": 10000,
            "labels": [
                {
                    "category": "person",
                    "id": 3,
                    "manualShape": True,
                    "box2d": box(),
                    "attributes": {"occluded": True, "truncated": False, "trafficLightColor": "none"},
                },
                {"category": "rider", "id": 4, "box2d": box()},
                {"category": "lane/single white", "id": 5, "poly2d": [{"vertices": [[1, 2]], "closed": False}]},
            ],
        },
        {
            "name": "b.jpg",
            "attributes": {"weather": "clear", "scene": "city street", "timeofday": "daytime"},
            "labels": [],
        },
    ]
    labels = write_json(tmp_path / "bdd100k_labels_images_train.json", entries)
    frames = read_bdd100k(labels, tmp_path, ["person"])
    assert [len(f.persons) for f in frames] == [1, 0]
    assert frames[0].attributes == {"weather": "rainy", "scene": "highway", "timeofday": "dawn/dusk"}
    assert (frames[0].persons[0].occluded, frames[0].persons[0].truncated) == (True, False)


def test_2020_det20_list(tmp_path):
    entries = [
        {
            "name": "a.jpg",
            "timestamp": 10000,
            "attributes": {"weather": "snowy"},
            "labels": [
                {"id": "12", "category": "pedestrian", "attributes": {"occluded": False}, "box2d": box()},
                {"id": "13", "category": "pedestrian", "box2d": box(5, 5, 9, 30)},
            ],
        }
    ]
    labels = write_json(tmp_path / "det_20" / "det_val.json", entries)
    (frame,) = read_bdd100k(labels, tmp_path, PERSONS)
    assert [p.box.height for p in frame.persons] == [7, 25]
    assert frame.attributes == {"weather": "snowy"}


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


# -- hostile and broken entries: a reason and where ------------------------------------------------


def read_one(tmp_path, entry, index=1):
    """Read a list whose entry `index` is `entry` (the others are good); that frame and the others."""
    good = {"name": "good.jpg", "labels": [{"category": "person", "box2d": box()}]}
    entries = [good] * index + [entry] + [good]
    frames = read_bdd100k(write_json(tmp_path / "det_train.json", entries), tmp_path, PERSONS)
    assert len(frames) == index + 2
    assert all(f.problem is None and len(f.persons) == 1 for i, f in enumerate(frames) if i != index)
    return frames[index]


@pytest.mark.parametrize("labels", [{"0": {"category": "person", "box2d": box()}}, "person", 3, True])
def test_labels_that_are_not_a_list(tmp_path, labels):
    frame = read_one(tmp_path, {"name": "a.jpg", "labels": labels})
    assert (frame.name, frame.problem) == ("a.jpg", "malformed_label")
    assert "det_train.json entry 1" in frame.detail and "'labels'" in frame.detail and "not a list" in frame.detail


def test_objects_that_are_not_a_list(tmp_path):
    entry = {"name": "a1", "frames": [{"timestamp": 1, "objects": {"category": "person", "box2d": box()}}]}
    (frame,) = read_bdd100k(write_json(tmp_path / "labels/a1.json", entry).parent, tmp_path, PERSONS)
    assert (frame.name, frame.problem) == ("a1.jpg", "malformed_label")
    assert frame.detail.startswith("a1.json entry 0:") and "'objects'" in frame.detail


@pytest.mark.parametrize("frames", [{"objects": []}, [], [{"objects": []}, {"objects": []}], ["x"]])
def test_per_image_frames_that_are_not_one_frame(tmp_path, frames):
    (frame,) = read_bdd100k(
        write_json(tmp_path / "labels/a1.json", {"name": "a1", "frames": frames}), tmp_path, PERSONS
    )
    assert (frame.name, frame.problem) == ("a1.jpg", "malformed_label")
    assert "a1.json" in frame.detail and "'frames'" in frame.detail


@pytest.mark.parametrize(
    "entry",
    [
        {"labels": []},
        {"name": None, "labels": []},
        {"name": 17, "labels": []},
        {"name": ["a.jpg"], "labels": []},
        {"name": "", "labels": []},
        "a.jpg",
        None,
    ],
)
def test_nameless_entries(tmp_path, entry):
    frame = read_one(tmp_path, entry)
    assert frame.problem == "malformed_label"
    assert frame.name == "det_train.json#1"  # not "None"
    assert "det_train.json entry 1" in frame.detail


@pytest.mark.parametrize(
    "box2d, what",
    [
        (box(x1="12"), "x1 is '12'"),
        (box(y2=True), "y2 is True"),
        (box(x2=float("nan")), "x2 is nan"),
        (box(y1=float("inf")), "y1 is inf"),
        ({"x1": 1, "y1": 2, "x2": 3}, "lacks 'y2'"),
        (box(x1=None), "x1 is None"),
        ([1, 2, 3, 4], "'box2d' is a JSON list"),
        ("1 2 3 4", "'box2d' is a JSON str"),
    ],
)
def test_box_that_is_not_four_finite_numbers(tmp_path, box2d, what):
    labels = [{"category": "car", "box2d": box()}, {"category": "pedestrian", "box2d": box2d}]
    frame = read_one(tmp_path, {"name": "a.jpg", "labels": labels})
    assert (frame.name, frame.problem, frame.persons) == ("a.jpg", "malformed_box", ())
    assert frame.detail.startswith("det_train.json entry 1: label 1: ") and what in frame.detail


@pytest.mark.parametrize("category", [["person"], {"name": "person"}, 7, None])
def test_category_that_is_not_a_string(tmp_path, category):
    frame = read_one(tmp_path, {"name": "a.jpg", "labels": [{"category": category, "box2d": box()}]})
    assert (frame.problem, frame.persons) == ("malformed_label", ())
    assert "det_train.json entry 1: label 0: 'category'" in frame.detail


@pytest.mark.parametrize("label", ["person", None, ["person"]])
def test_label_that_is_not_an_object(tmp_path, label):
    frame = read_one(tmp_path, {"name": "a.jpg", "labels": [label]})
    assert frame.problem == "malformed_label" and "label 0" in frame.detail


def test_attributes_that_are_not_an_object(tmp_path):
    frame = read_one(tmp_path, {"name": "a.jpg", "attributes": ["clear"], "labels": []})
    assert frame.problem == "malformed_label" and "'attributes'" in frame.detail


def test_box_flags_only_from_truth_values(tmp_path):
    labels = [
        {"category": "person", "box2d": box(), "attributes": {"OCCLUDED": "false", "truncated": "maybe"}},
        {"category": "person", "box2d": box(), "attributes": {"occluded": 1, "truncated": [True]}},
    ]
    frame = read_one(tmp_path, {"name": "a.jpg", "labels": labels})
    assert [(p.occluded, p.truncated) for p in frame.persons] == [(False, None), (True, None)]


@pytest.mark.parametrize("name", ["a.jpg", "../val/x.jpg", "/abs/x.jpg", "sub/dir.jpg", "a\x00b.jpg"])
def test_duplicate_and_unsafe_names_are_read_as_they_are(tmp_path, name):
    """The generic step after reading drops them (`duplicate`, `unsafe_name`); the reader must not crash."""
    entries = [{"name": name, "labels": []}, {"name": name, "labels": []}]
    frames = read_bdd100k(write_json(tmp_path / "l.json", entries), tmp_path, PERSONS)
    assert [f.name for f in frames] == [name, name]
    per_image = write_json(
        tmp_path / "per" / "x.json", {"name": name.removesuffix(".jpg"), "frames": [{"objects": []}]}
    )
    (frame,) = read_bdd100k(per_image.parent, tmp_path, PERSONS)
    assert frame.problem is None


# -- files and folders that are no layout ----------------------------------------------------------


@pytest.mark.parametrize(
    "content, found",
    [
        ({"images": [], "annotations": [], "categories": []}, "keys ['annotations', 'categories', 'images']"),
        ([{"image_id": 1, "bbox": [1, 2, 3, 4], "category_id": 1}] * 3, "first 3 items are not frames"),
        ([1, 2, 3], "first 3 items are not frames"),
        ({"frames": [5, 6]}, "an object whose 'frames' list"),
        ({"frames": "x"}, "'frames' is a JSON str"),
        (42, "a JSON int 42"),
        ("labels", "a JSON str"),
    ],
)
def test_a_file_of_no_known_layout_names_the_layouts_tried(tmp_path, content, found):
    path = write_json(tmp_path / "labels.json", content)
    with pytest.raises(DataError) as err:
        read_bdd100k(path, tmp_path, PERSONS)
    message = str(err.value)
    assert f"{path} matches no known layout" in message and found in message
    for layout in ("2018 combined list", "2020 det_20 list", "Scalabel frames", "2018 per-image file"):
        assert layout in message
    assert '"labels"' in message and '"objects"' in message  # what each expects


def test_a_list_whose_first_frame_comes_after_broken_entries_is_read(tmp_path):
    frames = read_bdd100k(
        write_json(tmp_path / "l.json", [None, 3, {"name": "a.jpg", "labels": []}]), tmp_path, PERSONS
    )
    assert [f.problem for f in frames] == ["malformed_label", "malformed_label", None]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("  \n", "empty"),
        ("[{", "not valid JSON"),
        ("[\n{},\n{,}]", r"not valid JSON: .* \(line 3 column 2: "),
        ("[]", "no frames"),
        ('{"frames": []}', "no frames"),
        ('{"a": 1}', "matches no known layout"),
    ],
)
def test_bad_label_files_raise_clear_errors(tmp_path, content, message):
    path = tmp_path / "labels.json"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_label_file(path)


def test_invalid_json_after_many_frames_names_its_line(tmp_path):
    lines = ["["] + ['{"name": "a.jpg", "labels": []},'] * 3000 + ['{"name": "b.jpg", "labels": [}', "]"]
    path = tmp_path / "labels.json"
    path.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"labels.json \(line 3002 column 30: Expecting value\)"):
        read_bdd100k(path, tmp_path, PERSONS)


def test_not_utf8(tmp_path):
    path = tmp_path / "labels.json"
    path.write_bytes(b'[{"name": "\xff.jpg"}]')
    with pytest.raises(DataError, match="not UTF-8"):
        load_label_file(path)


def test_missing_label_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_label_file(tmp_path / "nope.json")
    with pytest.raises(DataError, match="not found"):
        read_bdd100k(tmp_path / "nope", tmp_path, PERSONS)


def test_folder_without_label_files_names_its_subfolders(tmp_path):
    (tmp_path / "labels/100k/train").mkdir(parents=True)
    (tmp_path / "labels/100k/val").mkdir()
    (tmp_path / "labels/100k/._hidden.json").write_bytes(b"\x00\x05binary")  # macOS resource fork: skipped
    with pytest.raises(DataError, match=r"holds no .json label files; it has subfolders \['train', 'val'\]"):
        read_bdd100k(tmp_path / "labels/100k", tmp_path, PERSONS)


def test_folder_with_both_splits_is_refused(tmp_path):
    write_json(tmp_path / "det_20/det_train.json", [{"name": "a.jpg", "labels": []}])
    write_json(tmp_path / "det_20/det_val.json", [{"name": "b.jpg", "labels": []}])
    with pytest.raises(DataError, match=r"both a train and a val label file \(det_train.json, det_val.json\)"):
        read_bdd100k(tmp_path / "det_20", tmp_path, PERSONS)


def test_image_folder_must_exist(tmp_path):
    with pytest.raises(DataError, match="image folder not found"):
        read_bdd100k(write_json(tmp_path / "l.json", [{"name": "a.jpg"}]), tmp_path / "nope", PERSONS)


# -- streaming -------------------------------------------------------------------------------------


def generated_entry(i):
    labels = [
        {
            "id": str(3 * i + k),
            "category": ("pedestrian", "car", "traffic sign")[k],
            "attributes": {"occluded": k == 0, "truncated": False, "crowd": False},
            "box2d": box(10.5 * k, 20.25, 10.5 * k + 40.125, 180.75),
        }
        for k in range(3)
    ]
    return {
        "name": f"{i:08d}-{i:08x}.jpg",
        "timestamp": 10000,
        "labels": labels,
        "attributes": {"weather": "clear", "scene": "city street", "timeofday": "daytime"},
    }


def transient_bytes(read):
    """Bytes allocated while `read()` ran beyond what its result still holds at the end."""
    tracemalloc.start()
    try:
        result = read()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - held


def test_a_large_list_is_streamed_not_loaded_whole(tmp_path):
    path = tmp_path / "det_train.json"
    with path.open("w") as out:
        json.dump([generated_entry(i) for i in range(4000)], out)
    assert path.stat().st_size > 2_500_000
    frames, transient = transient_bytes(lambda: read_bdd100k(path, tmp_path, PERSONS))
    assert len(frames) == 4000 and sum(len(f.persons) for f in frames) == 4000
    # json.load would hold the 2.7 MB of text and ~15 MB of dicts at once; the stream holds ~ a chunk
    assert transient < 1_500_000


def test_a_large_per_image_folder_is_read_one_file_at_a_time(tmp_path):
    folder = tmp_path / "labels"
    folder.mkdir()
    for i in range(1500):
        entry = generated_entry(i)
        objects = entry.pop("labels")
        entry.update(name=entry["name"].removesuffix(".jpg"), frames=[{"timestamp": 10000, "objects": objects}])
        (folder / f"{entry['name']}.json").write_text(json.dumps(entry, indent=4))
    frames, transient = transient_bytes(lambda: read_bdd100k(folder, tmp_path, PERSONS))
    assert len(frames) == 1500 and sum(len(f.persons) for f in frames) == 1500
    assert transient < 1_500_000
