"""Darknet's learning-rate schedule, the validation cadence, and the loop settings file."""

from __future__ import annotations

import pytest

from cg2real.detector.schedule import LoopSettings, darknet_lr_factor, validation_due


@pytest.mark.parametrize("iteration, factor", [
    (0, 0.0),  # darknet's first batch learns nothing
    (500, 0.5 ** 4),  # power-4 burn-in: 1/16 of the rate halfway through
    (999, (999 / 1000) ** 4),
    (1000, 1.0),
    (3999, 1.0),
    (4000, 0.1),  # steps at 80% ...
    (4499, 0.1),
    (4500, 0.01),  # ... and 90% of the paper's 5,000 iterations
    (5100, 0.01),  # ultralytics' whole epochs may run a little past the configured length
])
def test_darknet_rate_at_key_iterations(iteration, factor):
    assert darknet_lr_factor(iteration, iterations=5000, burn_in=1000) == pytest.approx(factor, rel=1e-12, abs=0)


def test_a_run_shorter_than_its_burn_in_stays_in_burn_in():
    assert darknet_lr_factor(90, iterations=100, burn_in=1000) == pytest.approx(0.09 ** 4)


def test_validation_falls_on_the_epochs_that_cross_a_multiple():
    # row a of the paper: 500 frames at batch 64 = 8 batches an epoch, 640 epochs
    due = [e for e in range(640) if validation_due(e, batches_per_epoch=8, every=100, epochs=640)]
    assert due[:3] == [12, 24, 37] and due[-1] == 639  # iterations 104, 200, 304, ... and the last epoch
    assert len(due) == 5120 // 100 + 1
    assert all(validation_due(e, 8, 1, 640) for e in range(640))  # every iteration: every epoch
    assert [e for e in range(4) if validation_due(e, 2, 4, 4)] == [1, 3]


def test_loop_settings_travel_through_the_run_folder(tmp_path):
    settings = LoopSettings(schedule="darknet", iterations=10, burn_in=2, val_every_iterations=4, backbone=None)
    settings.write(tmp_path)
    assert LoopSettings.read(tmp_path) == settings
