"""Watching a CycleGAN training: the loss plot from metrics.csv and the sample grids of the run folder."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from cg2real.errors import DataError
from cg2real.report.training import LOSS_PANELS, plot_losses, plot_samples, progress_samples, read_losses

# the columns train-cyclegan writes (cg2real.cyclegan.train: epoch, LOSS_NAMES, then timing)
TRAINER_COLUMNS = ("epoch", "D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B", "lr",
                   "images_per_s", "wall_s", "processes", "simulated_processes")


def write_metrics(path: Path, epochs: int, columns=TRAINER_COLUMNS) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([[epoch + 1, *(0.1 * (epoch + 1) + i for i in range(len(columns) - 1))]
                          for epoch in range(epochs)])
    return path


def test_every_loss_of_the_trainers_csv_is_read_by_panel(tmp_path):
    losses = read_losses(write_metrics(tmp_path / "metrics.csv", 3))
    assert losses["epoch"] == [1.0, 2.0, 3.0]
    assert set(losses) == {"epoch", *(name for names in LOSS_PANELS.values() for name in names)}
    assert losses["G_A"] == pytest.approx([1.1, 1.2, 1.3])  # G_A is the CSV's second loss column


def test_the_trainers_loss_names_are_the_ones_plotted():
    """The report cannot import the trainer (tests/test_architecture.py); this keeps the names in step."""
    from cg2real.cyclegan.train import LOSS_NAMES

    assert sorted(name for names in LOSS_PANELS.values() for name in names) == sorted(LOSS_NAMES)


def test_loss_plot_is_drawn_and_tolerates_missing_panels(tmp_path):
    out = tmp_path / "figures" / "losses.png"
    plot_losses(write_metrics(tmp_path / "metrics.csv", 2, ("epoch", "G_A", "G_B", "D_A")), out, "demo")
    assert cv2.imread(str(out)) is not None
    with pytest.raises(DataError, match="none of the loss columns"):
        plot_losses(write_metrics(tmp_path / "other.csv", 2, ("epoch", "wall_s")), out, "demo")
    (tmp_path / "empty.csv").write_text("epoch,G_A\n")
    with pytest.raises(DataError, match="no epochs yet"):
        plot_losses(tmp_path / "empty.csv", out, "demo")


def test_sample_figure_shows_the_first_and_the_newest_epoch(tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    with pytest.raises(DataError, match="no sample grids"):
        progress_samples(samples)
    for epoch in (1, 2, 10):
        grid = np.full((64, 96, 3), 20 * epoch, np.uint8)  # 2 rows of 3 tiles of 32 px, as the trainer lays out
        cv2.imwrite(str(samples / f"epoch_{epoch:04d}.png"), grid)
    assert [p.name for p in progress_samples(samples)] == ["epoch_0001.png", "epoch_0010.png"]
    out = tmp_path / "samples.png"
    plot_samples(samples, out, "demo")
    assert cv2.imread(str(out)).shape[0] > 2 * 64  # both grids, one above the other
