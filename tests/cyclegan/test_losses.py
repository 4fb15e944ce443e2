"""Loss values on hand-made tensors."""

from __future__ import annotations

import pytest
import torch

from cg2real.cyclegan.losses import cycle_loss, identity_loss, lsgan_loss


def test_lsgan_real_target_is_one():
    prediction = torch.tensor([[0.0, 0.5], [1.0, 2.0]])
    # (1 + 0.25 + 0 + 1) / 4
    assert lsgan_loss(prediction, True).item() == pytest.approx(0.5625)


def test_lsgan_fake_target_is_zero():
    prediction = torch.tensor([[0.0, 0.5], [1.0, 2.0]])
    # (0 + 0.25 + 1 + 4) / 4
    assert lsgan_loss(prediction, False).item() == pytest.approx(1.3125)


def test_lsgan_gradient_flows():
    prediction = torch.tensor([0.5], requires_grad=True)
    lsgan_loss(prediction, True).backward()
    assert prediction.grad.item() == pytest.approx(-1.0)  # d/dp (p - 1)^2 at 0.5


def test_cycle_and_identity_are_mean_l1():
    a = torch.tensor([1.0, -1.0, 0.5, 0.0])
    b = torch.tensor([0.0, 1.0, 0.5, -0.5])
    # (1 + 2 + 0 + 0.5) / 4
    assert cycle_loss(a, b).item() == pytest.approx(0.875)
    assert identity_loss(a, b).item() == pytest.approx(0.875)
    assert cycle_loss(b, b).item() == 0.0
