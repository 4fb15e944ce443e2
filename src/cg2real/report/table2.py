"""Table 2 of paper 000 as CSV and Markdown, from the condition rows (JSON, one per condition).

`cg2real.detector.score` writes a row: the detector's score on the REAL validation split
(TP/FP/FN/P/R/F1 at a confidence threshold, mAP@0.5 by pycocotools), what it was trained on, the
checkpoint and a hash of its configuration. This module only reads rows and writes the table.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

# Paper 000, Table 2 (BDD100K evaluation, IoU 0.5): (row, training set, TP, FP, FN, P, R, F1, mAP@0.50 %).
PAPER_ROWS = (
    ("a", "BDD100K 500", 3930, 2920, 6843, 0.57, 0.36, 0.45, 34.34),
    ("b", "a + SYNTHIA 1017 (raw CG)", 4086, 2643, 6687, 0.61, 0.38, 0.47, 39.45),
    ("c", "a + translated, CycleGAN on 4 GPUs", 4813, 4560, 5960, 0.51, 0.45, 0.48, 41.39),
    ("d", "a + translated, 64 GPUs", 4403, 2625, 6370, 0.63, 0.41, 0.49, 41.84),
    ("e", "a + translated, 128 GPUs", 4718, 3762, 6055, 0.56, 0.44, 0.49, 42.03),
    ("f", "a + translated, 256 GPUs", 3996, 1938, 6777, 0.67, 0.37, 0.48, 41.40),
    ("g", "a + translated, 512 GPUs", 4604, 3616, 6169, 0.56, 0.43, 0.48, 41.53),
)
COLUMNS = ("source", "row", "training set", "TP", "FP", "FN", "P", "R", "F1", "mAP@0.50 %")


def our_table_row(row: dict) -> tuple:
    return ("ours", row["condition"], row["training_set"], row["tp"], row["fp"], row["fn"],
            round(row["precision"], 2), round(row["recall"], 2), round(row["f1"], 2), round(100 * row["map50"], 2))


def write_table2(row_files: list[Path], csv_path: Path, markdown_path: Path, with_paper: bool) -> list[tuple]:
    """Table 2 from row JSON files (in the given order), with the paper's rows after ours when asked."""
    rows = [our_table_row(json.loads(path.read_text())) for path in row_files]
    if with_paper:
        rows += [("paper 000", *paper_row) for paper_row in PAPER_ROWS]
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    note = ("Detector scores on the real validation split: TP/FP/FN, P, R, F1 at the configured confidence "
            "threshold with IoU 0.5 matching; mAP@0.50 by pycocotools.")
    markdown_path.write_text("# Table 2\n\n" + note + "\n\n" + "\n".join(lines) + "\n")
    return rows
