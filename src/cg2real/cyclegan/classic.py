"""Classic data-set augmentation of the CycleGAN training crops (paper 002: Suzuki and Suzuki).

Paper 002 enlarged a GAN's training set with one augmented copy per original image (1:1), the
copies split evenly between the chosen policies, and scored the GAN by Inception Score. Here the
same mix is drawn on the fly: with probability 1/2 a crop is replaced by its augmented version
under one policy picked uniformly from the configured ones (both domains, after the jitter).

Policies, on HxWx3 uint8 RGB crops:
  hflip     mirror left-right (the reference jitter's `flip` does the same; paper 002 found it helps)
  vflip     mirror top-bottom
  contrast  scale every value's distance to the crop's mean value by `contrast` (clipped to 0..255;
            paper 002 gives no factor, so it is a setting)
  negative  255 - value

Caution (paper 002): vertical flip and negative produced implausible images (two-necked faces,
unnatural colours), because they create variations that never occur in real data. For a CG->real
translator they teach both domains upside-down or colour-inverted people; they are here to
reproduce that finding, not as recommended settings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cg2real.errors import DataError

CLASSIC_POLICIES = ("hflip", "vflip", "contrast", "negative")
AUGMENTED_SHARE = 0.5  # paper 002's 1:1 mix of original and augmented images


def apply_classic(image: np.ndarray, policy: str, contrast: float) -> np.ndarray:
    """One policy on an HxWx3 uint8 image (a new array; the input is not modified)."""
    if policy == "hflip":
        return image[:, ::-1].copy()
    if policy == "vflip":
        return image[::-1].copy()
    if policy == "contrast":
        mean = image.mean()
        return np.clip(np.rint((image.astype(np.float64) - mean) * contrast + mean), 0, 255).astype(np.uint8)
    if policy == "negative":
        return 255 - image
    raise DataError(f"unknown classic augmentation '{policy}'; choose from {', '.join(CLASSIC_POLICIES)}")


def classic_augment(
    image: np.ndarray, policies: Sequence[str], contrast: float, rng: np.random.Generator
) -> np.ndarray:
    """Paper 002's mix: the crop itself, or (probability 1/2) one of `policies` applied to it.
    No policies: the crop unchanged and no random number drawn, so the reference jitter's stream
    (and thus the reference run) is untouched."""
    if not policies or rng.random() >= AUGMENTED_SHARE:
        return image
    return apply_classic(image, policies[int(rng.integers(len(policies)))], contrast)
