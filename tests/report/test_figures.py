"""Report figures: run timings from metrics.csv, the scalability plot and the sample grid."""

from __future__ import annotations

import cv2
import pytest

from cg2real.errors import DataError
from cg2real.report.figures import plot_scalability, run_timing, sample_grid
from tests.detector.test_dataset import yolo_set

HEADER = "epoch,lr,images_per_s,wall_s,processes,simulated_processes\n"


def metrics_csv(path, processes, simulated, speeds):
    rows = "".join(f"{i + 1},0.0002,{s},{100 / s},{processes},{simulated}\n" for i, s in enumerate(speeds))
    path.write_text(HEADER + rows)
    return path


def test_run_timing_sums_wall_time_and_counts_simulated_processes(tmp_path):
    timing = run_timing(metrics_csv(tmp_path / "m.csv", 2, 4, [10.0, 20.0]))
    assert timing == {"processes": 8, "epochs": 2, "wall_s": pytest.approx(15.0), "images_per_s": pytest.approx(15.0)}
    (tmp_path / "empty.csv").write_text(HEADER)
    with pytest.raises(DataError, match="no epochs"):
        run_timing(tmp_path / "empty.csv")


def test_scalability_plot_orders_runs_by_processes(tmp_path):
    metrics = {"big": metrics_csv(tmp_path / "b.csv", 4, 1, [30.0]), "one": metrics_csv(tmp_path / "o.csv", 1, 1, [10.0])}
    timings = plot_scalability(metrics, tmp_path / "s.png", with_paper=True)
    assert [t["run"] for t in timings] == ["one", "big"]
    assert cv2.imread(str(tmp_path / "s.png")) is not None


def test_sample_grid_has_a_row_per_sample(tmp_path):
    real = yolo_set(tmp_path / "real", ["r0", "r1"])
    cg = yolo_set(tmp_path / "cg", ["c0", "c1", "c2"], ".png")
    translated = yolo_set(tmp_path / "tr", ["c0", "c1", "c2"], ".png")
    sample_grid(real, cg, {"demo": translated}, tmp_path / "two.png", count=2)
    sample_grid(real, cg, {"demo": translated}, tmp_path / "three.png", count=3)
    two, three = cv2.imread(str(tmp_path / "two.png")), cv2.imread(str(tmp_path / "three.png"))
    assert three.shape[0] > two.shape[0] and three.shape[1] == two.shape[1]
    (translated / "images/c1.png").unlink()
    with pytest.raises(DataError):  # a translation is missing: named, not skipped
        sample_grid(real, cg, {"demo": translated}, tmp_path / "x.png", count=3)
