"""Differentiable augmentation of the discriminators' inputs (paper 003: Zhao et al. 2020) and bCR.

Why both real and fake: augmenting only the real images teaches D that augmented images are real,
and G then learns to produce the augmentation (paper 003's "leaking"). Applying the same family of
transforms to real AND fake images before D, in D's loss and in G's adversarial loss, keeps the
two distributions comparable; since every op here is built from differentiable tensor operations,
G's gradient passes through the augmentation. Spatial ops (translation, zoom, cutout) helped most
in paper 003; strong appearance changes hurt.

A policy is a comma list of ops, each optionally with its strength lambda_aug: ``"color,translation,
cutout"`` (DiffAugment's default for small data) or ``"zoom_out=0.4"``. Ops and what their strength
means (images are NCHW in [-1, 1]; every random parameter is drawn per sample):

  brightness   add b ~ U(-s/2, s/2)                                     default 1 (DiffAugment's +-0.5)
  saturation   scale the distance to the pixel's channel mean by U(1-s, 1+s)       default 1 (x0..2)
  contrast     scale the distance to the image mean by U(1-s/2, 1+s/2)        default 1 (x0.5..1.5)
  color        brightness, saturation and contrast, in that order, with one strength
  translation  shift by up to s of the side in x and y (whole pixels), zero padding   default 1/8
  cutout       zero a square of s times the side at a random centre (may overhang)    default 1/2
  zoom_in      magnify by U(1, 1+s): a random window of 1/m of the side fills the image  default 0.4
  zoom_out     shrink by U(1, 1+s) to a random place; the border is reflected         default 0.4

Zero is mid-grey in [-1, 1], so translation and cutout fill with grey. The zoom strengths follow
this module's parameterisation; 0.4 is the strength of paper 003's best SNDCGAN result (zoom-out).

Randomness comes from a torch.Generator the caller owns (the trainer re-seeds it per epoch and
rank), so runs are reproducible and resumable. Parameters are drawn on the CPU and moved to the
images' device: they are a few numbers per sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from cg2real.errors import DataError

Params = dict[str, torch.Tensor]


def _uniform(count: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(count, generator=generator)


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(N,) parameters as (N, 1, 1, 1) on the images' device and dtype, to broadcast over CHW."""
    return values.to(device=like.device, dtype=like.dtype).view(-1, 1, 1, 1)


# ------------------------------------------------------------------ colour ops
def _sample_brightness(count: int, strength: float, generator: torch.Generator) -> Params:
    return {"shift": _uniform(count, -strength / 2, strength / 2, generator)}


def _brightness(x: torch.Tensor, p: Params) -> torch.Tensor:
    return x + _per_sample(p["shift"], x)


def _sample_saturation(count: int, strength: float, generator: torch.Generator) -> Params:
    return {"factor": _uniform(count, 1 - strength, 1 + strength, generator)}


def _saturation(x: torch.Tensor, p: Params) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * _per_sample(p["factor"], x) + mean


def _sample_contrast(count: int, strength: float, generator: torch.Generator) -> Params:
    return {"factor": _uniform(count, 1 - strength / 2, 1 + strength / 2, generator)}


def _contrast(x: torch.Tensor, p: Params) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _per_sample(p["factor"], x) + mean


# ------------------------------------------------------------------ spatial ops
def _sample_translation(count: int, strength: float, generator: torch.Generator) -> Params:
    return {"dx": _uniform(count, -strength, strength, generator),
            "dy": _uniform(count, -strength, strength, generator)}


def _translation(x: torch.Tensor, p: Params) -> torch.Tensor:
    """Shift each image by whole pixels; what enters from outside is zero. Gathering from a
    zero-padded copy keeps it a plain indexing op, so gradients reach every moved pixel."""
    n, _, h, w = x.shape
    shift_y, shift_x = (p["dy"] * h).round().long(), (p["dx"] * w).round().long()
    pad_y, pad_x = int(shift_y.abs().max()), int(shift_x.abs().max())  # on the CPU: no device sync
    shift_y, shift_x = shift_y.to(x.device), shift_x.to(x.device)
    padded = F.pad(x, (pad_x, pad_x, pad_y, pad_y))
    rows = torch.arange(h, device=x.device).view(1, h) + pad_y - shift_y.view(n, 1)  # (n, h)
    cols = torch.arange(w, device=x.device).view(1, w) + pad_x - shift_x.view(n, 1)  # (n, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    moved = padded.permute(0, 2, 3, 1)[batch, rows.view(n, h, 1), cols.view(n, 1, w)]  # (n, h, w, c)
    return moved.permute(0, 3, 1, 2)


def _sample_cutout(count: int, strength: float, generator: torch.Generator) -> Params:
    return {"size": torch.full((count,), strength), "cy": torch.rand(count, generator=generator),
            "cx": torch.rand(count, generator=generator)}


def _cutout(x: torch.Tensor, p: Params) -> torch.Tensor:
    n, _, h, w = x.shape
    half_h = (p["size"] * h).round().to(x.device).view(n, 1, 1) / 2
    half_w = (p["size"] * w).round().to(x.device).view(n, 1, 1) / 2
    centre_y = (p["cy"] * h).floor().to(x.device).view(n, 1, 1)
    centre_x = (p["cx"] * w).floor().to(x.device).view(n, 1, 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((rows >= centre_y - half_h) & (rows < centre_y + half_h)
              & (cols >= centre_x - half_w) & (cols < centre_x + half_w))  # side rows/cols, clipped at edges
    return x * (~inside).unsqueeze(1).to(x.dtype)


def _sample_zoom(count: int, strength: float, generator: torch.Generator) -> Params:
    return {"magnification": _uniform(count, 1.0, 1.0 + strength, generator),
            "u": _uniform(count, -1.0, 1.0, generator), "v": _uniform(count, -1.0, 1.0, generator)}


def _resample(x: torch.Tensor, scale: torch.Tensor, offset_x: torch.Tensor, offset_y: torch.Tensor,
              padding: str) -> torch.Tensor:
    """Output point q (normalised to [-1, 1]) reads input point scale * q + offset, bilinearly."""
    n = x.shape[0]
    theta = torch.zeros(n, 2, 3, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = scale.to(x.dtype)
    theta[:, 0, 2], theta[:, 1, 2] = offset_x.to(x.dtype), offset_y.to(x.dtype)
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def _zoom_in(x: torch.Tensor, p: Params) -> torch.Tensor:
    """A window of 1/m of the side, placed so it stays inside the image, stretched to full size."""
    scale = 1.0 / p["magnification"]
    return _resample(x, scale, p["u"] * (1 - scale), p["v"] * (1 - scale), "border")


def _zoom_out(x: torch.Tensor, p: Params) -> torch.Tensor:
    """The image shrunk by m to a random place inside the frame; around it, its reflection."""
    scale = p["magnification"]
    return _resample(x, scale, p["u"] * (scale - 1), p["v"] * (scale - 1), "reflection")


@dataclass(frozen=True)
class Op:
    """One augmentation: draw its parameters for a batch, apply them; strengths in [0, max_strength]."""

    sample: Callable[[int, float, torch.Generator], Params]
    apply: Callable[[torch.Tensor, Params], torch.Tensor]
    default_strength: float
    max_strength: float


OPS: dict[str, Op] = {
    "brightness": Op(_sample_brightness, _brightness, 1.0, 2.0),
    "saturation": Op(_sample_saturation, _saturation, 1.0, 1.0),
    "contrast": Op(_sample_contrast, _contrast, 1.0, 2.0),
    "translation": Op(_sample_translation, _translation, 1 / 8, 1.0),
    "cutout": Op(_sample_cutout, _cutout, 1 / 2, 1.0),
    "zoom_in": Op(_sample_zoom, _zoom_in, 0.4, 4.0),
    "zoom_out": Op(_sample_zoom, _zoom_out, 0.4, 4.0),
}
GROUPS = {"color": ("brightness", "saturation", "contrast")}  # DiffAugment's colour op
POLICY_NAMES = (*GROUPS, *OPS)

Policy = tuple[tuple[str, float], ...]


def parse_policy(text: str) -> Policy:
    """``"color,translation=0.1"`` -> ((op, strength), ...) with groups expanded; "" is no augmentation."""
    policy: list[tuple[str, float]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        if name not in POLICY_NAMES:
            raise DataError(f"unknown augmentation '{name}' in policy '{text}'; choose from {', '.join(POLICY_NAMES)}")
        for op in GROUPS.get(name, (name,)):
            try:
                strength = float(value) if value else OPS[op].default_strength
            except ValueError as err:
                raise DataError(f"strength of '{name}' in policy '{text}' is not a number: {value!r}") from err
            if not 0 <= strength <= OPS[op].max_strength:
                raise DataError(f"strength of '{op}' must be in [0, {OPS[op].max_strength}], got {strength}")
            policy.append((op, strength))
    return tuple(policy)


class DiffAugment:
    """Applies a policy to NCHW batches; an empty policy returns its input untouched (and draws nothing)."""

    def __init__(self, policy: Policy, generator: torch.Generator) -> None:
        self.policy, self.generator = policy, generator

    def sample(self, count: int) -> list[Params]:
        """Random parameters of every op for `count` images."""
        return [OPS[name].sample(count, strength, self.generator) for name, strength in self.policy]

    def apply(self, x: torch.Tensor, params: list[Params]) -> torch.Tensor:
        for (name, _), p in zip(self.policy, params, strict=True):
            x = OPS[name].apply(x, p)
        return x

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply(x, self.sample(len(x))) if self.policy else x

    def pair(self, real: torch.Tensor, fake: torch.Tensor, shared: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment a real and a fake batch: with `shared`, image i of both gets the very same transform."""
        if shared and self.policy:
            if len(real) != len(fake):
                raise ValueError(f"a shared transform needs equal batches, got {len(real)} real and {len(fake)} fake")
            params = self.sample(len(real))
            return self.apply(real, params), self.apply(fake, params)
        return self(real), self(fake)


def consistency_loss(
    discriminator: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, scores: torch.Tensor,
    transform: DiffAugment,
) -> torch.Tensor:
    """bCR's term for one batch: mean squared difference between D(x) (`scores`, already computed
    for the adversarial loss) and D(T(x)); the mean over PatchGAN patches keeps lambda_bcr
    independent of the crop size. Both sides keep their gradients, as in Zhao et al.'s bCR."""
    return F.mse_loss(discriminator(transform(images)), scores)
