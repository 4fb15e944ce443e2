"""Learning-rate factors with exact values."""

from __future__ import annotations

import pytest

from cg2real.cyclegan.schedule import lr_for, reference_lr_factor, warmup_factor


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
