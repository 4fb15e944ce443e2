"""Learning-rate factors with exact values."""

from __future__ import annotations

import pytest

from cg2real.cyclegan.schedule import (
    batch_fraction,
    decay_factor,
    lr_for,
    reference_lr_factor,
    step_lr_factor,
    warmed_up_lr,
    warmup_factor,
)


@pytest.mark.parametrize("epoch,expected", [(0, 1.0), (99, 1.0), (100, 1 - 1 / 101), (150, 1 - 51 / 101), (199, 1 / 101)])
def test_reference_linear_policy(epoch, expected):
    assert reference_lr_factor(epoch, 100, 100) == pytest.approx(expected)


@pytest.mark.parametrize("progress,expected", [(0.0, 1e-3 / 5), (1.0, 0.2), (2.5, 0.5), (5.0, 1.0), (12.0, 1.0)])
def test_warmup(progress, expected):
    assert warmup_factor(progress, 5) == pytest.approx(expected)


def test_no_warmup_is_one():
    assert warmup_factor(0.0, 0) == 1.0


def test_negative_warmup_rejected():
    with pytest.raises(ValueError):
        warmup_factor(1.0, -1)


def test_lr_scaling():
    assert lr_for(2e-4, 8, "none") == 2e-4
    assert lr_for(2e-4, 8, "linear") == pytest.approx(1.6e-3)
    with pytest.raises(ValueError, match="none, linear"):
        lr_for(2e-4, 8, "sqrt")


@pytest.mark.parametrize("epoch,expected", [(0, 1.0), (59, 1.0), (60, 0.1), (89, 0.1), (90, 0.01), (99, 0.01)])
def test_step_decay_is_paper_004s_tenths_at_60_and_90_of_100(epoch, expected):
    assert step_lr_factor(epoch, 100, (0.6, 0.9)) == pytest.approx(expected)


def test_step_milestones_scale_with_the_run_length():
    assert [step_lr_factor(e, 10, (0.6, 0.9)) for e in range(10)] == pytest.approx([1.0] * 6 + [0.1] * 3 + [0.01])


def test_decay_policy_is_chosen_by_name():
    assert decay_factor("linear", 150, 100, 100, (0.6, 0.9)) == reference_lr_factor(150, 100, 100)
    assert decay_factor("step", 150, 100, 100, (0.6, 0.9)) == pytest.approx(0.1)  # epoch 150 of 200: past 60%
    with pytest.raises(ValueError, match="linear, step"):
        decay_factor("cosine", 0, 1, 1, ())


@pytest.mark.parametrize("progress,expected", [(0.0, 2e-4), (1.0, 3.2e-4), (2.5, 5e-4), (5.0, 8e-4), (9.0, 8e-4)])
def test_warmup_from_base_rises_linearly_to_the_scaled_rate(progress, expected):
    """Paper 004 (Goyal et al.): the first step at the one-process rate, the scaled one after 5 epochs."""
    assert warmed_up_lr(2e-4, 8e-4, progress, 5.0, "base") == pytest.approx(expected)


def test_warmup_from_zero_is_the_old_ramp_and_base_without_scaling_is_flat():
    assert warmed_up_lr(2e-4, 8e-4, 1.0, 5.0, "zero") == pytest.approx(8e-4 * warmup_factor(1.0, 5.0))
    assert warmed_up_lr(2e-4, 8e-4, 0.0, 5.0, "zero") < 1e-6  # starts near 0, not at the base rate
    assert warmed_up_lr(2e-4, 2e-4, 0.3, 5.0, "base") == pytest.approx(2e-4)
    assert warmed_up_lr(2e-4, 8e-4, 0.0, 0.0, "base") == pytest.approx(8e-4)  # no warm-up
    with pytest.raises(ValueError, match="base, zero"):
        warmed_up_lr(2e-4, 8e-4, 0.0, 5.0, "one")


def test_batch_fraction_matches_paper_004s_measure():
    assert batch_fraction(64, 1, 500) == pytest.approx(0.128)  # paper 000's row a: batch 64 on 500 frames
    assert batch_fraction(16, 96, 16551) == pytest.approx(0.0928, abs=1e-4)  # 004's last good YOLOv3 point (VOC)
    assert batch_fraction(1, 512, 4822) > 0.09 > batch_fraction(1, 256, 4822)
