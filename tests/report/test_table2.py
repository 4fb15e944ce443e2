"""Table 2 from row files: CSV and Markdown, row order, the paper's rows."""

from __future__ import annotations

import csv
import json

import pytest

from cg2real.__main__ import main
from cg2real.report.intervals import bootstrap_counts, bootstrap_map50, percentile_interval
from cg2real.report.table2 import COLUMNS, PAPER_ROWS, aggregate_row, write_table2
from cg2real.scoring import AP_METHODS, ImageOutcomes
from tests.test_scoring import random_case


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


def replicate_files(tmp_path, condition, gt, detections_per_replicate, method="coco_101"):
    """Replicate rows and cached detections, as evaluate-detector writes them."""
    from cg2real.detector.evaluate import evaluate_detections

    rows, dets = [], []
    for r, detections in enumerate(detections_per_replicate):
        rows.append(tmp_path / condition / f"r{r}.json")
        dets.append(tmp_path / condition / f"r{r}_detections.json")
        rows[-1].parent.mkdir(parents=True, exist_ok=True)
        row = {"condition": condition, "training_set": f"set {condition}", "replicate": r, "detector_seed": r,
               **evaluate_detections(gt, detections, 0.25, method)}
        rows[-1].write_text(json.dumps(row))
        dets[-1].write_text(json.dumps(detections))
    return rows, dets


def test_rows_aggregate_replicates_and_pair_against_a_and_b(tmp_path):
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
    gt, detections = random_case(12, n_images=20)
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps(gt))
    files, dets = replicate_files(tmp_path, "a", gt, [detections])
    row = aggregate_row("a", files, dets, coco, tmp_path / "a.json", resamples=100)
    single = json.loads(files[0].read_text())
    assert {k: row[k] for k in single} == single  # k = 1: today's row, exactly, plus the intervals
    assert row["intervals"]["map50"]["low"] is None and row["map50_bootstrap"]["low"] is not None


def test_the_bootstrap_uses_the_rows_ap_method(tmp_path):
    gt, detections = random_case(13, n_images=20)
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps(gt))
    files, dets = replicate_files(tmp_path, "a", gt, [detections], method="darknet_all_point")
    row = aggregate_row("a", files, dets, coco, tmp_path / "a.json", resamples=100, seed=3)
    assert row["ap_method"] == "darknet_all_point"
    counts = bootstrap_counts(20, 100, 3)
    by_method = {method: percentile_interval(bootstrap_map50([ImageOutcomes.from_coco(gt, detections, method)], counts),
                                             row["map50"]).as_json() for method in AP_METHODS}
    assert row["map50_bootstrap"] == by_method["darknet_all_point"] != by_method["coco_101"]


def test_replicates_scored_by_different_methods_are_refused(tmp_path):
    gt, detections = random_case(14, n_images=10)
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps(gt))
    coco_files, coco_dets = replicate_files(tmp_path / "x", "a", gt, [detections])
    darknet_files, darknet_dets = replicate_files(tmp_path / "y", "a", gt, [detections], method="darknet_all_point")
    with pytest.raises(ValueError, match="different AP methods"):
        aggregate_row("a", coco_files + darknet_files, coco_dets + darknet_dets, coco, tmp_path / "a.json")


def full_split_row(condition: str, persons: int, source: str = "datasets", val_frames: str = "all") -> dict:
    return {**row(condition, 0.4), "ap_method": "darknet_all_point", "n_gt_boxes": persons,
            "provenance": {"data_source": source, "val_frames": val_frames}}


def write_rows(tmp_path, rows: list[dict]):
    files = []
    for data in rows:
        files.append(tmp_path / f"{data['condition']}.json")
        files[-1].write_text(json.dumps(data))
    table = write_table2(files, tmp_path / "t.csv", tmp_path / "t.md", with_paper=True)
    return [dict(zip(COLUMNS, cells, strict=True)) for cells in table], (tmp_path / "t.md").read_text()


def test_the_table_names_each_rows_ap_method_and_ground_truth_persons(tmp_path):
    cells, _ = write_rows(tmp_path, [full_split_row("a", 10773), row("b", 0.3)])
    assert (cells[0]["AP method"], cells[0]["GT persons"]) == ("darknet_all_point", 10773)
    assert (cells[1]["AP method"], cells[1]["GT persons"]) == ("coco_101", "")  # a row from before: pycocotools
    paper = [c for c in cells if c["source"] == "paper 000"]
    assert {c["GT persons"] for c in paper} == {10773} and {c["AP method"] for c in paper} == {"darknet_all_point"}


def test_a_full_bdd100k_split_with_another_person_count_is_warned_about(tmp_path, caplog):
    _, markdown = write_rows(tmp_path, [full_split_row("a", 10512), full_split_row("b", 10512)])
    assert "Ground-truth persons: a 10512, b 10512" in markdown
    assert "WARNING" in markdown and "10773" in markdown.split("Ground-truth persons")[1]
    assert any(r.levelname == "WARNING" and "10773" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("source", "val_frames", "persons", "line"), [
    ("datasets", "all", 10773, True),  # the paper's count: the line, no warning
    ("demo", "all", 112, False),  # the demo: nothing at all
    ("datasets", "kept", 4000, False),  # a filtered validation set is not the paper's: nothing to compare
])
def test_no_warning_for_the_papers_count_the_demo_or_a_filtered_split(tmp_path, caplog, source, val_frames, persons,
                                                                       line):
    _, markdown = write_rows(tmp_path, [full_split_row("a", persons, source, val_frames)])
    assert ("Ground-truth persons: a" in markdown) is line
    assert "WARNING" not in markdown and not [r for r in caplog.records if r.levelname == "WARNING"]


def test_the_reports_html_table_carries_the_ground_truth_warning(tmp_path):
    files = []
    for data in (full_split_row("a", 10512), row("b", 0.3)):
        files.append(tmp_path / f"{data['condition']}.json")
        files[-1].write_text(json.dumps(data))
    html = tmp_path / "t.html"
    main(["table2", "--rows", *map(str, files), "--csv", str(tmp_path / "t.csv"),
          "--markdown", str(tmp_path / "t.md"), "--html", str(html)])
    page = html.read_text()
    assert "Ground-truth persons: a 10512" in page and "10773" in page.split("Ground-truth persons")[1]


def test_the_table_says_which_frames_chose_each_rows_checkpoint(tmp_path):
    held_out = {**row("b", 0.3), "provenance": {"detector": {"train": {"selection": "held_out",
                                                                        "selection_fraction": 0.1}}}}
    cells, markdown = write_rows(tmp_path, [row("a", 0.4), held_out])
    chosen = {c["row"]: c["best epoch chosen on"] for c in cells if c["source"] == "ours"}
    assert chosen == {"a": "evaluation set", "b": "held-out 10% of the real training frames"}
    assert {c["best epoch chosen on"] for c in cells if c["source"] == "paper 000"} == {"evaluation set"}
    assert "Best epoch chosen on" in markdown
