import json

import cv2
import numpy as np
import pytest
import yaml
from pycocotools.coco import COCO

from cg2real.boxes import Box
from cg2real.data.align import aligned_row, target_size
from cg2real.data.export import ExportSettings, export_yolo, parse_yolo_line, write_coco
from cg2real.data.manifest import ManifestRow, read_manifest, write_manifest
from cg2real.data.prepare import export_detector_set
from cg2real.errors import DataError
from tests.conftest import write_jpeg


def row(name, image_path, persons, kept=True, width=320, height=180) -> ManifestRow:
    return ManifestRow(
        name=name, image_path=str(image_path), width=width, height=height, usable=True, kept=kept,
        reason="kept" if kept else "no_person", persons=tuple(persons),
        largest=max(persons, key=lambda b: b.area) if persons else None, attributes={"scene": "city street"},
    )


@pytest.fixture
def rows(tmp_path):
    a = write_jpeg(tmp_path / "src/a.jpg", 320, 180)
    b = write_jpeg(tmp_path / "src/cam/b.jpg", 320, 180)
    return [
        row("a.jpg", a, [Box(10.5, 20.25, 60, 170), Box(200, 0, 320, 90)]),
        row("cam/b.jpg", b, [], kept=False),
    ]


@pytest.mark.parametrize("link_mode", ["copy", "symlink", "hardlink"])
def test_yolo_round_trip(tmp_path, rows, link_mode):
    out = tmp_path / "yolo"
    names = export_yolo(rows, out, ExportSettings(link_mode, None))
    assert names == ["a.jpg", "cam__b.jpg"]
    assert (out / "images/cam__b.jpg").read_bytes() == (tmp_path / "src/cam/b.jpg").read_bytes()
    lines = (out / "labels/a.txt").read_text().splitlines()
    back = [parse_yolo_line(line, 320, 180) for line in lines]
    for got, want in zip(back, rows[0].persons, strict=True):
        assert [got.x1, got.y1, got.x2, got.y2] == pytest.approx([want.x1, want.y1, want.x2, want.y2], abs=1e-3)
    assert (out / "labels/cam__b.txt").read_text() == ""  # a background frame: empty label file
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {0: "person"} and data["train"] == "images"


def test_coco_ground_truth_loads_in_pycocotools(tmp_path, rows):
    names = export_yolo(rows, tmp_path / "yolo", ExportSettings("copy", None))
    path = tmp_path / "gt.json"
    write_coco(rows, names, path)
    coco = COCO(str(path))
    assert coco.getCatIds() == [1]
    assert len(coco.getImgIds()) == 2
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert [a["bbox"] for a in anns] == [[10.5, 20.25, 49.5, 149.75], [200, 0, 120, 90]]
    assert coco.getAnnIds(imgIds=[2]) == []
    assert json.loads(path.read_text())["images"][1]["file_name"] == "cam__b.jpg"


def test_manifest_round_trip(tmp_path, rows):
    path = tmp_path / "m.csv"
    write_manifest(rows, path)
    back = read_manifest(path)
    assert [r.name for r in back] == ["a.jpg", "cam/b.jpg"]
    assert back[0].persons == rows[0].persons and back[0].largest == rows[0].largest
    assert back[1].largest is None and back[1].reason == "no_person"
    assert back[0].attributes == {"scene": "city street"}


# -- alignment to one frame size (paper 000, 3.3) ---------------------------------------------------


def synthia_like(path, width=96, height=72, box=Box(30, 18, 42, 60)):
    """A PNG frame, grey, with the person's box painted pure green: where the box goes, the green must go."""
    image = np.full((height, width, 3), 90, np.uint8)
    image[int(box.y1):int(box.y2), int(box.x1):int(box.x2)] = (0, 255, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return row(path.name, path, [box], width=width, height=height)


def test_aligned_row_scales_every_box_with_the_frame():
    frame = row("a.png", "a.png", [Box(0, 9, 48, 36), Box(60, 0, 96, 72)], width=96, height=72)
    aligned = aligned_row(frame, [128, 72])
    assert (aligned.width, aligned.height) == (128, 72)
    assert aligned.persons == (Box(0, 9, 64, 36), Box(80, 0, 128, 72))
    assert aligned.largest == Box(80, 0, 128, 72)
    assert aligned_row(frame, [96, 72]) is frame and aligned_row(frame, None) is frame


@pytest.mark.parametrize("size", [[1280], [0, 720], [1280.5, 720], [True, 720], [1, 2, 3]])
def test_align_size_must_be_two_positive_integers(size):
    with pytest.raises(DataError, match="align_size must be null or \\[width, height\\]"):
        target_size(size)


def test_aligned_export_resizes_image_labels_and_ground_truth_together(tmp_path):
    frame = synthia_like(tmp_path / "src/cg.png")
    real_size = write_jpeg(tmp_path / "src/real.jpg", 128, 72)
    real = row("real.jpg", real_size, [Box(10, 10, 20, 40)], width=128, height=72)
    manifest = tmp_path / "manifest.csv"
    write_manifest([frame, real], manifest)
    out, coco_path = tmp_path / "yolo", tmp_path / "gt.json"
    export_detector_set(manifest, out, "kept", ExportSettings("symlink", [128, 72]), coco_path)

    exported = cv2.imread(str(out / "images/cg.png"))
    assert exported.shape == (72, 128, 3) and not (out / "images/cg.png").is_symlink()
    (line,) = (out / "labels/cg.txt").read_text().splitlines()
    box = parse_yolo_line(line, 128, 72)
    assert [box.x1, box.y1, box.x2, box.y2] == pytest.approx([40, 18, 56, 60], abs=1e-3)  # x by 4/3
    inside = exported[int(box.y1) + 1:int(box.y2) - 1, int(box.x1) + 1:int(box.x2) - 1]
    assert (inside[..., 1] > 200).all() and (inside[..., 0] < 50).all()  # the painted person, all of it
    outside = np.ones(exported.shape[:2], bool)
    outside[int(box.y1) - 1:int(box.y2) + 1, int(box.x1) - 1:int(box.x2) + 1] = False
    assert (exported[outside] == 90).all()  # and nothing of it outside the box

    coco = json.loads(coco_path.read_text())
    images = [(i["file_name"], i["width"], i["height"]) for i in coco["images"]]
    assert images == [("cg.png", 128, 72), ("real.jpg", 128, 72)]
    assert coco["annotations"][0]["bbox"] == [40.0, 18.0, 16.0, 42.0]
    assert coco["annotations"][1]["bbox"] == [10.0, 10.0, 10.0, 30.0]  # a frame at the size is unchanged
    assert (out / "images/real.jpg").is_symlink()  # and placed as configured, never re-encoded


def test_resizing_over_an_earlier_symlink_leaves_the_source_alone(tmp_path):
    frame = synthia_like(tmp_path / "src/cg.png")
    before = (tmp_path / "src/cg.png").read_bytes()
    export_yolo([frame], tmp_path / "yolo", ExportSettings("symlink", None))
    assert (tmp_path / "yolo/images/cg.png").is_symlink()
    export_yolo([frame], tmp_path / "yolo", ExportSettings("symlink", [128, 72]))
    assert (tmp_path / "src/cg.png").read_bytes() == before
    assert cv2.imread(str(tmp_path / "yolo/images/cg.png")).shape == (72, 128, 3)


def test_a_jpeg_is_rewritten_as_a_jpeg_when_shrunk(tmp_path):
    frame = row("big.jpg", write_jpeg(tmp_path / "src/big.jpg", 256, 144), [Box(0, 0, 64, 144)], width=256, height=144)
    export_yolo([frame], tmp_path / "yolo", ExportSettings("copy", [128, 72]))
    assert (tmp_path / "yolo/images/big.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert cv2.imread(str(tmp_path / "yolo/images/big.jpg")).shape == (72, 128, 3)
    box = parse_yolo_line((tmp_path / "yolo/labels/big.txt").read_text(), 128, 72)
    assert [box.x1, box.y1, box.x2, box.y2] == pytest.approx([0, 0, 32, 72], abs=1e-3)
