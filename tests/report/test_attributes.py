"""Table 2 by frame attribute: groups from the manifest, exact AP per group, intervals, the written table."""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from cg2real.__main__ import main
from cg2real.boxes import Box
from cg2real.data.manifest import ManifestRow, flat_stem, write_manifest
from cg2real.errors import DataError
from cg2real.report.attributes import (
    COLUMNS, UNDEFINED, attribute_groups, attribute_table, exported_stem, group_score, manifest_attributes,
)
from cg2real.scoring import ImageOutcomes

# Five validation frames, one person each but the last; the attributes BDD100K keeps per frame.
FRAMES = (
    ("day-1.jpg", {"timeofday": "daytime", "weather": "clear"}, True),
    ("day-2.jpg", {"timeofday": "daytime", "weather": "rainy"}, True),
    ("night-1.jpg", {"timeofday": "night", "weather": "clear"}, True),
    ("night-2.jpg", {"timeofday": "night"}, True),  # no weather given: BDD100K's "undefined"
    ("fog.jpg", {"timeofday": "daytime", "weather": "foggy"}, False),
)
PERSON = [10.0, 10.0, 20.0, 40.0]  # COCO x, y, w, h


def coco_ground_truth() -> dict:
    images = [{"id": i, "file_name": name, "width": 64, "height": 64} for i, (name, _, _) in enumerate(FRAMES, 1)]
    annotations = [{"id": i, "image_id": i, "category_id": 1, "bbox": PERSON, "area": 800.0, "iscrowd": 0}
                   for i, (_, _, person) in enumerate(FRAMES, 1) if person]
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}


def detections(found: set[str]) -> list[dict]:
    """The person found on the named frames; elsewhere one false positive away from it."""
    result = []
    for image_id, (name, _, _) in enumerate(FRAMES, 1):
        box = PERSON if name in found else [40.0, 40.0, 10.0, 10.0]
        result.append({"image_id": image_id, "category_id": 1, "score": 0.9, "bbox": box})
    return result


DAY, ALL = {"day-1.jpg", "day-2.jpg"}, {name for name, _, _ in FRAMES}


def write_inputs(tmp_path: Path) -> tuple[list[Path], Path, Path]:
    """Rows a (finds the daytime persons only) and c (finds every person), two replicates each."""
    rows = []
    for condition, found in (("a", DAY), ("c", ALL)):
        files = []
        for replicate in range(2):
            path = tmp_path / f"{condition}_r{replicate}_detections.json"
            path.write_text(json.dumps(detections(found)))
            files.append(str(path))
        row = tmp_path / f"{condition}.json"
        row.write_text(json.dumps({"condition": condition, "replicates": 2, "detections": files}))
        rows.append(row)
    coco = tmp_path / "real_val.json"
    coco.write_text(json.dumps(coco_ground_truth()))
    manifest = tmp_path / "real_val.csv"
    write_manifest([ManifestRow(name, f"images/{name}", 64, 64, True, person, "kept" if person else "no_person",
                                (Box(10, 10, 30, 50),) if person else (), None, attributes)
                    for name, attributes, person in FRAMES], manifest)
    return rows, coco, manifest


@pytest.mark.parametrize("name", ["b1c9c847-3bda4659.jpg", "Stereo_Left/Omni_F/000123.png", "a.b/c.d.JPG"])
def test_the_exported_stem_is_the_data_stages(name):
    assert exported_stem(name) == flat_stem(name)


def test_groups_follow_the_manifest_with_undefined_for_a_missing_value(tmp_path):
    _, coco, manifest = write_inputs(tmp_path)
    attributes = manifest_attributes(manifest)
    files = {image["id"]: image["file_name"] for image in json.loads(coco.read_text())["images"]}
    groups = attribute_groups(files, attributes, [1, 2, 3, 4, 5])
    assert list(groups) == [("timeofday", "daytime"), ("timeofday", "night"),
                            ("weather", "clear"), ("weather", "foggy"), ("weather", "rainy"), ("weather", UNDEFINED)]
    assert groups[("timeofday", "night")].tolist() == [0, 0, 1, 1, 0]
    assert groups[("weather", UNDEFINED)].tolist() == [0, 0, 0, 1, 0]
    with pytest.raises(DataError, match="not in the manifest"):
        attribute_groups({**files, 6: "elsewhere.jpg"}, attributes, [1, 6])


def test_a_group_score_is_the_ap_of_its_images_alone():
    gt = coco_ground_truth()
    outcomes = ImageOutcomes.from_coco(gt, detections(DAY), "coco_101")
    day, night = np.array([1.0, 1, 0, 0, 0]), np.array([0.0, 0, 1, 1, 0])
    day_score, night_score = (group_score([outcomes, outcomes], group, 50, 0) for group in (day, night))
    assert day_score.per_replicate == (1.0, 1.0) and night_score.per_replicate == (0.0, 0.0)
    assert np.allclose(day_score.resampled, 1.0) and np.allclose(night_score.resampled, 0.0)
    assert (day_score.bootstrap.low, day_score.bootstrap.high) == (1.0, 1.0)


def pycocotools_map50(gt: dict, found: list[dict]) -> float:
    """COCOeval's AP at IoU 0.5 alone, all areas, 100 detections per image."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    coco = COCO()
    coco.dataset = {"info": {}, **copy.deepcopy(gt)}
    coco.createIndex()
    evaluation = COCOeval(coco, coco.loadRes(copy.deepcopy(found)), "bbox")
    evaluation.params.iouThrs = np.array([0.5])
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0])


def test_a_group_score_equals_pycocotools_on_the_group():
    pytest.importorskip("pycocotools")
    rng = np.random.default_rng(4)
    images = [{"id": i, "file_name": f"f{i}.jpg", "width": 100, "height": 100} for i in range(1, 21)]
    annotations, found = [], []
    for image in images:
        for _ in range(rng.integers(1, 4)):
            x, y, w, h = *rng.uniform(0, 60, 2), *rng.uniform(5, 40, 2)
            annotations.append({"id": len(annotations) + 1, "image_id": image["id"], "category_id": 1,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
            shift = rng.normal(0, 5, 2)
            found.append({"image_id": image["id"], "category_id": 1, "score": float(rng.random()),
                          "bbox": [x + shift[0], y + shift[1], w, h]})
    gt = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}
    group = (rng.random(20) < 0.4).astype(float)
    kept = {i + 1 for i in np.flatnonzero(group)}
    sub_gt = {**gt, "images": [i for i in images if i["id"] in kept],
              "annotations": [a for a in annotations if a["image_id"] in kept]}
    expected = pycocotools_map50(sub_gt, [d for d in found if d["image_id"] in kept])
    score = group_score([ImageOutcomes.from_coco(gt, found, "coco_101")], group, 10, 0)
    assert score.per_replicate[0] == pytest.approx(expected)
    assert 0 < expected < 1


def test_the_table_shows_where_a_row_differs(tmp_path):
    rows, coco, manifest = write_inputs(tmp_path)
    lines = attribute_table([json.loads(p.read_text()) for p in rows], json.loads(coco.read_text()),
                            manifest_attributes(manifest), resamples=100)
    by_key = {(line[0], line[1], line[4]): dict(zip(COLUMNS, line, strict=True)) for line in lines}
    night_c = by_key[("timeofday", "night", "c")]
    assert night_c["images"] == 2 and night_c["persons"] == 2 and night_c["mAP@0.50 %"] == "100.00"
    assert night_c["Δ mAP vs a"] == "100.00" and night_c["Δ excludes 0"] == "yes"
    assert night_c["Δ 95% CI images"] == "[100.00, 100.00]"
    assert by_key[("timeofday", "night", "a")]["mAP@0.50 %"] == "0.00"
    assert by_key[("timeofday", "night", "a")]["Δ mAP vs a"] == ""  # the reference is not compared with itself
    day_c = by_key[("timeofday", "daytime", "c")]
    assert day_c["images"] == 3 and day_c["Δ mAP vs a"] == "0.00" and day_c["Δ excludes 0"] == "no"
    assert by_key[("weather", "foggy", "c")]["mAP@0.50 %"] == "no persons"


def test_the_subcommand_writes_csv_and_markdown(tmp_path):
    rows, coco, manifest = write_inputs(tmp_path)
    out_csv, out_md = tmp_path / "out" / "attributes.csv", tmp_path / "attributes.md"
    args = ["table2-attributes", "--rows", *map(str, rows), "--coco", str(coco), "--manifest", str(manifest),
            "--csv", str(out_csv), "--markdown", str(out_md)]
    assert main(args) == 0
    with out_csv.open() as handle:
        table = list(csv.reader(handle))
    assert tuple(table[0]) == COLUMNS and len(table) == 1 + 6 * 2  # six groups, two rows each
    assert "| weather | rainy | 1 | 1 | c | 2 | 100.00 |" in out_md.read_text()


def test_a_row_without_cached_detections_is_named(tmp_path):
    rows, coco, manifest = write_inputs(tmp_path)
    with pytest.raises(DataError, match="row b has no cached detections"):
        attribute_table([{"condition": "b", "replicates": 1}], json.loads(coco.read_text()),
                        manifest_attributes(manifest))
