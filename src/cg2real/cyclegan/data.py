"""Unpaired crop pairs for CycleGAN training, with the reference's jitter, reproducible by index.

Every random choice of a sample (partner image in the other domain, crop offset, flip, classic
policy of paper 002) is drawn from `default_rng([seed, epoch, rank, position])`, not from
loader-worker state, so a run gives the same batches with any number of loader workers and after
a resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from cg2real.cyclegan.classic import classic_augment
from cg2real.images import read_rgb, to_tensor


@dataclass(frozen=True)
class JitterSettings:
    """Reference jitter: resize to `load_size`, random `crop_size` crop, optional horizontal flip;
    then paper 002's classic policies (`cyclegan.classic`), none by default (the reference)."""

    load_size: int
    crop_size: int
    flip: bool
    classic_policies: tuple[str, ...] = ()
    classic_contrast: float = 1.0


def jitter(image: np.ndarray, settings: JitterSettings, rng: np.random.Generator) -> np.ndarray:
    if image.shape[:2] != (settings.load_size, settings.load_size):
        image = cv2.resize(image, (settings.load_size, settings.load_size), interpolation=cv2.INTER_CUBIC)
    top, left = rng.integers(0, settings.load_size - settings.crop_size + 1, size=2)
    image = image[top : top + settings.crop_size, left : left + settings.crop_size]
    if settings.flip and rng.random() < 0.5:
        image = image[:, ::-1]
    return classic_augment(image, settings.classic_policies, settings.classic_contrast, rng)


class UnpairedCrops(Dataset):
    """Item i of an epoch's shard: CG crop `shard[i] % |A|` and a random real crop."""

    def __init__(
        self, files_a: list[Path], files_b: list[Path], shard: list[int], settings: JitterSettings,
        seed: tuple[int, ...],
    ) -> None:
        self.files_a, self.files_b, self.shard, self.settings, self.seed = files_a, files_b, shard, settings, seed

    def __len__(self) -> int:
        return len(self.shard)

    def __getitem__(self, position: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([*self.seed, position])
        a = read_rgb(self.files_a[self.shard[position] % len(self.files_a)])
        b = read_rgb(self.files_b[int(rng.integers(len(self.files_b)))])
        return to_tensor(jitter(a, self.settings, rng)), to_tensor(jitter(b, self.settings, rng))
