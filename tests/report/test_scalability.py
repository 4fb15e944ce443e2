"""Scalability: run timings from metrics.csv, which runs form a curve, and the efficiency table."""

from __future__ import annotations

import csv

import pytest

from cg2real.errors import DataError
from cg2real.report.scalability import run_timing, scalability_rows, write_scalability_table

HEADER = "epoch,lr,images_per_s,wall_s,processes,simulated_processes\n"


def metrics_csv(path, processes, simulated, speeds, images_per_epoch=100):
    """A metrics.csv whose epochs each train `images_per_epoch` images at the given rates."""
    rows = "".join(f"{i + 1},0.0002,{s},{images_per_epoch / s},{processes},{simulated}\n" for i, s in enumerate(speeds))
    path.write_text(HEADER + rows)
    return path


def test_run_timing_weighs_epochs_by_time_and_counts_simulated_processes(tmp_path):
    timing = run_timing(metrics_csv(tmp_path / "m.csv", 2, 4, [10.0, 20.0]))
    # 200 images in 10 s + 5 s: 13.3 images/s, not the mean rate 15
    assert timing == {"processes": 8, "epochs": 2, "wall_s": pytest.approx(15.0), "images_per_s": pytest.approx(200 / 15)}
    (tmp_path / "empty.csv").write_text(HEADER)
    with pytest.raises(DataError, match="no epochs"):
        run_timing(tmp_path / "empty.csv")


def test_speed_up_and_efficiency_are_relative_to_the_smallest_run(tmp_path):
    metrics = {
        "four": metrics_csv(tmp_path / "4.csv", 4, 1, [30.0, 30.0]),
        "one": metrics_csv(tmp_path / "1.csv", 1, 1, [10.0]),
        "two": metrics_csv(tmp_path / "2.csv", 2, 1, [18.0]),
    }
    rows = scalability_rows(metrics, with_paper=False)
    assert [r["run"] for r in rows] == ["one", "two", "four"]
    assert [r["speed_up"] for r in rows] == pytest.approx([1.0, 1.8, 3.0])
    assert [r["efficiency"] for r in rows] == pytest.approx([1.0, 0.9, 0.75])
    assert rows[2]["wall_h"] == pytest.approx(2 * 100 / 30 / 3600)
    assert {r["source"] for r in rows} == {"this workflow"}


def test_paper_rows_only_when_asked(tmp_path):
    metrics = {"one": metrics_csv(tmp_path / "1.csv", 1, 1, [10.0])}
    paper = [r for r in scalability_rows(metrics, with_paper=True) if r["source"] == "paper 000"]
    assert [(r["processes"], r["wall_h"]) for r in paper] == [(4, 68.77), (512, 0.73)]
    assert paper[1]["speed_up"] == 93.8 and paper[1]["efficiency"] == pytest.approx(93.8 / 128)
    assert paper[0]["images_per_s"] is None


def test_table_files_hold_the_rows(tmp_path):
    metrics = {"one": metrics_csv(tmp_path / "1.csv", 1, 1, [10.0]), "two": metrics_csv(tmp_path / "2.csv", 2, 1, [18.0])}
    write_scalability_table(scalability_rows(metrics, with_paper=True), tmp_path / "t.csv", tmp_path / "t.md")
    with (tmp_path / "t.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [(r["source"], r["processes"]) for r in table] == [("this workflow", "1"), ("this workflow", "2"),
                                                               ("paper 000", "4"), ("paper 000", "512")]
    assert float(table[1]["efficiency"]) == pytest.approx(0.9) and table[3]["images_per_s"] == ""
    markdown = (tmp_path / "t.md").read_text()
    assert "| this workflow | two | 2 | 18.00 | 1.80x | 90.0% |" in markdown
    assert "| paper 000 | 512 GPUs | 512 |  | 93.80x | 73.3% | 0.73 |" in markdown
