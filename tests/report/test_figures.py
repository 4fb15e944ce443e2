"""Report figures: the scalability plot and the sample grid."""

from __future__ import annotations

import cv2
import pytest

from cg2real.errors import DataError
from cg2real.report import figures as figures_module
from cg2real.report.figures import plot_scalability, sample_grid
from cg2real.report.scalability import scalability_rows
from tests.detector.test_dataset import yolo_set
from tests.report.test_scalability import metrics_csv


def test_scalability_plot_draws_our_speed_ups_and_the_paper_beside_them(tmp_path, monkeypatch):
    metrics = {"big": metrics_csv(tmp_path / "b.csv", 4, 1, [30.0]), "one": metrics_csv(tmp_path / "o.csv", 1, 1, [10.0])}
    figures = []
    monkeypatch.setattr(figures_module.plt, "close", figures.append)
    plot_scalability(scalability_rows(metrics, with_paper=True), tmp_path / "s.png")
    (axes,) = figures[0].axes
    ours, _, paper, _ = axes.get_lines()
    assert list(ours.get_xdata()) == [1, 4] and list(ours.get_ydata()) == pytest.approx([1.0, 3.0])
    assert list(paper.get_xdata()) == [4, 512] and list(paper.get_ydata()) == pytest.approx([1.0, 93.8])
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
