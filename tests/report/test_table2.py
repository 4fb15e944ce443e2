"""Table 2 from row files: CSV and Markdown, row order, the paper's rows."""

from __future__ import annotations

import csv
import json

import pytest

from cg2real.report.table2 import COLUMNS, PAPER_ROWS, aggregate_row, write_table2
from tests.report.test_intervals import random_case


def row(condition: str, map50: float) -> dict:
    return {"condition": condition, "training_set": f"set {condition}", "tp": 3, "fp": 1, "fn": 2,
            "precision": 0.75, "recall": 0.6, "f1": 2 / 3, "map50": map50}


def test_table_keeps_row_order_and_adds_paper_rows(tmp_path):
    files = []
    for name, value in (("c", 0.4139), ("a", 0.3434)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(row(name, value)))
    rows = write_table2(files, tmp_path / "t.csv", tmp_path / "t.md", with_paper=True)
    assert [r[1] for r in rows[:2]] == ["c", "a"]  # the given (config) order, not sorted
    with (tmp_path / "t.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert table[0]["mAP@0.50 %"] == "41.39" and table[0]["F1"] == "0.67"
    assert len(table) == 2 + len(PAPER_ROWS) and table[-1]["source"] == "paper 000"
    markdown = (tmp_path / "t.md").read_text()
    assert "| ours | a | set a | 1 | 3 | 1 | 2 | 0.75 | 0.6 | 0.67 | 34.34 | none (1 replicate) |" in markdown
    assert table[0]["Δ mAP vs a"] == "7.05" and table[1]["Δ mAP vs a"] == ""  # c - a; a is not compared to itself
    without = write_table2(files, tmp_path / "u.csv", tmp_path / "u.md", with_paper=False)
    assert len(without) == 2


def test_paper_rows_add_up_to_the_evaluation_set():
    assert {tp + fn for _, _, tp, _, fn, *_ in PAPER_ROWS} == {10773}  # TP + FN = ground-truth persons


def replicate_files(tmp_path, condition, gt, detections_per_replicate):
    """Replicate rows and cached detections, as evaluate-detector writes them (map50 from pycocotools)."""
    from cg2real.detector.evaluate import evaluate_detections

    rows, dets = [], []
    for r, detections in enumerate(detections_per_replicate):
        rows.append(tmp_path / condition / f"r{r}.json")
        dets.append(tmp_path / condition / f"r{r}_detections.json")
        rows[-1].parent.mkdir(parents=True, exist_ok=True)
        row = {"condition": condition, "training_set": f"set {condition}", "replicate": r, "detector_seed": r,
               **evaluate_detections(gt, detections, 0.25)}
        rows[-1].write_text(json.dumps(row))
        dets[-1].write_text(json.dumps(detections))
    return rows, dets


def test_rows_aggregate_replicates_and_pair_against_a_and_b(tmp_path):
    pytest.importorskip("pycocotools")
    gt, detections = random_case(11, n_images=40)
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps(gt))
    perfect = [{"image_id": a["image_id"], "category_id": 1, "score": 0.9, "bbox": a["bbox"]} for a in gt["annotations"]]
    weak = [{**d, "score": d["score"] * 0.5} for d in detections]
    rows = {}
    for name, replicates in (("a", [weak, detections[::2], detections]), ("b", [detections, weak, detections]),
                             ("c", [perfect, perfect, perfect])):
        files, dets = replicate_files(tmp_path, name, gt, replicates)
        rows[name] = aggregate_row(name, files, dets, coco, tmp_path / f"{name}.json", resamples=200)
    a = rows["a"]
    values = [json.loads(p.read_text())["map50"] for p in sorted((tmp_path / "a").glob("r?.json"))]
    assert a["replicates"] == 3 and a["map50"] == pytest.approx(sum(values) / 3)
    assert a["intervals"]["map50"]["low"] < a["map50"] < a["intervals"]["map50"]["high"]
    assert a["map50_bootstrap"]["low"] < a["map50"] < a["map50_bootstrap"]["high"]
    assert rows["c"]["map50"] == pytest.approx(1.0) and rows["c"]["intervals"]["map50"]["low"] == pytest.approx(1.0)
    table = write_table2([tmp_path / f"{n}.json" for n in "abc"], tmp_path / "t.csv", tmp_path / "t.md",
                         with_paper=False, coco=coco)
    by_row = {r[1]: dict(zip(COLUMNS, r, strict=True)) for r in table}
    assert by_row["c"]["Δ excludes 0 vs a"] == "yes" and by_row["c"]["Δ excludes 0 vs b"] == "yes"
    assert float(by_row["c"]["Δ mAP vs a"]) == pytest.approx(100 * (1 - a["map50"]), abs=0.01)
    assert by_row["a"]["Δ mAP vs a"] == "" and by_row["b"]["Δ mAP vs a"] != ""


def test_one_replicate_keeps_its_numbers(tmp_path):
    pytest.importorskip("pycocotools")
    gt, detections = random_case(12, n_images=20)
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps(gt))
    files, dets = replicate_files(tmp_path, "a", gt, [detections])
    row = aggregate_row("a", files, dets, coco, tmp_path / "a.json", resamples=100)
    single = json.loads(files[0].read_text())
    assert {k: row[k] for k in single} == single  # k = 1: today's row, exactly, plus the intervals
    assert row["intervals"]["map50"]["low"] is None and row["map50_bootstrap"]["low"] is not None
