import json

import pytest
import yaml
from pycocotools.coco import COCO

from cg2real.boxes import Box
from cg2real.data.export import export_yolo, parse_yolo_line, write_coco
from cg2real.data.manifest import ManifestRow, read_manifest, write_manifest
from tests.conftest import write_jpeg


def row(name, image_path, persons, kept=True) -> ManifestRow:
    return ManifestRow(
        name=name, image_path=str(image_path), width=320, height=180, usable=True, kept=kept,
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
    names = export_yolo(rows, out, link_mode)
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
    names = export_yolo(rows, tmp_path / "yolo", "copy")
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
