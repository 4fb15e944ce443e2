"""Table 2 from row files: CSV and Markdown, row order, the paper's rows."""

from __future__ import annotations

import csv
import json

from cg2real.report.table2 import PAPER_ROWS, write_table2


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
    assert "| ours | a | set a | 3 | 1 | 2 | 0.75 | 0.6 | 0.67 | 34.34 |" in markdown
    without = write_table2(files, tmp_path / "u.csv", tmp_path / "u.md", with_paper=False)
    assert len(without) == 2


def test_paper_rows_add_up_to_the_evaluation_set():
    assert {tp + fn for _, _, tp, _, fn, *_ in PAPER_ROWS} == {10773}  # TP + FN = ground-truth persons
