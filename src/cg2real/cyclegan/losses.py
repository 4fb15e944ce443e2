"""The three CycleGAN loss terms, with the least-squares GAN objective the reference trains with."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def lsgan_loss(prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Adversarial term L_GAN (least-squares form): MSE of the patch scores against all 1s or all 0s."""
    target = torch.ones_like(prediction) if target_is_real else torch.zeros_like(prediction)
    return F.mse_loss(prediction, target)


def cycle_loss(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Cycle-consistency term L_cyc: mean L1 between F(G(x)) and x."""
    return F.l1_loss(reconstructed, original)


def identity_loss(same: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Identity term L_identity: mean L1 between G(y) and y, for an image already in G's target domain."""
    return F.l1_loss(same, original)
