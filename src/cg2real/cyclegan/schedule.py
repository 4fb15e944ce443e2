"""Learning-rate factors by epoch: the reference's decay or paper 004's steps, a warm-up, and
scaling with process count; and 004's warning sign, the total batch as a fraction of the data."""

from __future__ import annotations

LR_SCALINGS = ("none", "linear")
LR_POLICIES = ("linear", "step")
WARMUP_STARTS = ("base", "zero")
STEP_FACTOR = 0.1  # paper 004: the rate drops to 1/10 at each step


def reference_lr_factor(epoch: int, n_epochs: int, n_epochs_decay: int) -> float:
    """The reference's 'linear' policy for 0-based `epoch`: 1.0 for `n_epochs` epochs, then linear decay.

    The last epoch (n_epochs + n_epochs_decay - 1) gets 1 / (n_epochs_decay + 1): the reference
    never reaches exactly 0, and this keeps its numbers.
    """
    return 1.0 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)


def step_lr_factor(epoch: int, epochs: int, fractions: tuple[float, ...]) -> float:
    """Paper 004's step decay for 0-based `epoch`: x0.1 from each milestone on.

    A milestone is a fraction of all `epochs` (004's YOLOv3: 0.6 and 0.9 of 100, i.e. epochs 60
    and 90), rounded to the nearest epoch, so the schedule keeps its shape at any run length.
    """
    passed = sum(1 for fraction in fractions if epoch >= round(fraction * epochs))
    return STEP_FACTOR**passed


def decay_factor(policy: str, epoch: int, n_epochs: int, n_epochs_decay: int,
                 step_fractions: tuple[float, ...]) -> float:
    """The decay factor of `epoch` under `policy`: 'linear' (the reference) or 'step' (paper 004)."""
    if policy == "linear":
        return reference_lr_factor(epoch, n_epochs, n_epochs_decay)
    if policy == "step":
        return step_lr_factor(epoch, n_epochs + n_epochs_decay, step_fractions)
    raise ValueError(f"unknown lr_policy {policy!r}; known: {', '.join(LR_POLICIES)}")


def warmup_factor(epoch_progress: float, warmup_epochs: float) -> float:
    """Linear warm-up from ~0 over `warmup_epochs` (the 'zero' start), at epoch + fraction done.

    Floored at 1e-3 epochs so the very first step does not get a zero learning rate;
    1.0 throughout when warmup_epochs is 0 (no warm-up, as in the paper's runs).
    """
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
    if warmup_epochs == 0:
        return 1.0
    return min(1.0, max(epoch_progress, 1e-3) / warmup_epochs)


def warmed_up_lr(base_lr: float, scaled_lr: float, epoch_progress: float, warmup_epochs: float, start: str) -> float:
    """The rate at `epoch_progress` (epochs done, fractional) while warming up to `scaled_lr`.

    'base': paper 004's gradual warm-up (Goyal et al.): from the one-process rate `base_lr`, rising
    linearly to `scaled_lr` over `warmup_epochs`; with lr_scaling none the two are equal and the
    warm-up changes nothing. 'zero': from ~0 to `scaled_lr` (`warmup_factor`), this code's
    behaviour before issue 18, kept for runs that chose it.
    """
    if start == "zero":
        return scaled_lr * warmup_factor(epoch_progress, warmup_epochs)
    if start != "base":
        raise ValueError(f"unknown warmup_start {start!r}; known: {', '.join(WARMUP_STARTS)}")
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
    ramp = 1.0 if warmup_epochs == 0 else min(1.0, epoch_progress / warmup_epochs)
    return base_lr + (scaled_lr - base_lr) * ramp


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


def batch_fraction(batch_size: int, processes: int, training_samples: int) -> float:
    """The total batch of one step (batch_size x processes, simulated ones included) over the
    number of distinct training samples.

    Paper 004 found accuracy falling once this passes about 9% (YOLOv3 on VOC: 96 GPUs x 16 images
    was the last good point). `scale` is not in it: it lengthens the epoch by drawing the same
    samples again, and adds no new ones.
    """
    return batch_size * processes / training_samples
