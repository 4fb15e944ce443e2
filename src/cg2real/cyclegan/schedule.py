"""Learning-rate factors by epoch: the reference's decay, an optional warm-up, and scaling with process count."""

from __future__ import annotations

LR_SCALINGS = ("none", "linear")


def reference_lr_factor(epoch: int, n_epochs: int, n_epochs_decay: int) -> float:
    """The reference's 'linear' policy for 0-based `epoch`: 1.0 for `n_epochs` epochs, then linear decay.

    The last epoch (n_epochs + n_epochs_decay - 1) gets 1 / (n_epochs_decay + 1): the reference
    never reaches exactly 0, and this keeps its numbers.
    """
    return 1.0 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)


def warmup_factor(epoch_progress: float, warmup_epochs: float) -> float:
    """Linear warm-up over `warmup_epochs` (Goyal et al.), at epoch + fraction of the epoch done.

    Floored at 1e-3 epochs so the very first step does not get a zero learning rate;
    1.0 throughout when warmup_epochs is 0 (no warm-up, as in the paper's runs).
    """
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
    if warmup_epochs == 0:
        return 1.0
    return min(1.0, max(epoch_progress, 1e-3) / warmup_epochs)


def lr_for(base_lr: float, world_size: int, lr_scaling: str) -> float:
    """Base learning rate for `world_size` processes.

    'none': unchanged with the number of GPUs, as the paper (000) trained;
    'linear': multiplied by the number of processes, Goyal et al.'s rule (paper 004).
    """
    if lr_scaling == "none":
        return base_lr
    if lr_scaling == "linear":
        return base_lr * world_size
    raise ValueError(f"unknown lr_scaling {lr_scaling!r}; known: {', '.join(LR_SCALINGS)}")
