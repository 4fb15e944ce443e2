"""Unpaired crop pairs for CycleGAN training, with the reference's jitter, reproducible by index.

Every random choice of a sample (partner image in the other domain, crop offset, flip, classic
policy of paper 002) is drawn from `default_rng([seed, epoch, rank, position])`, not from
loader-worker state, so a run gives the same batches with any number of loader workers and after
a resume, also one that starts in the middle of an epoch.

`KeyedCrops` + `EpochOrder` serve the CycleGAN trainer's one loader for the whole run: each item
is asked for by its full key (epoch's seed, position, crop), which the sampler, in the training
process, makes from the epoch's shard. The loader's workers therefore hold no per-epoch state and
can persist across epochs (`persistent_workers`), instead of being started again every epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

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
        return crop_pair(self.files_a, self.files_b, self.shard[position], self.settings, rng)


def crop_pair(files_a: list[Path], files_b: list[Path], index: int, settings: JitterSettings,
              rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """CG crop `index % |A|` and a real crop drawn by `rng`, both jittered with `rng`."""
    a = read_rgb(files_a[index % len(files_a)])
    b = read_rgb(files_b[int(rng.integers(len(files_b)))])
    return to_tensor(jitter(a, settings, rng)), to_tensor(jitter(b, settings, rng))


class CropKey(NamedTuple):
    """One item: CG crop `index` at `position` of the shard whose draws are seeded by `seed`."""

    seed: tuple[int, ...]
    position: int
    index: int


class KeyedCrops(Dataset):
    """`UnpairedCrops` whose items are asked for by `CropKey`: the same pair for the same key."""

    def __init__(self, files_a: list[Path], files_b: list[Path], settings: JitterSettings) -> None:
        self.files_a, self.files_b, self.settings = files_a, files_b, settings

    def __getitem__(self, key: CropKey) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([*key.seed, key.position])
        return crop_pair(self.files_a, self.files_b, key.index, self.settings, rng)


class EpochOrder(Sampler):
    """The keys of one epoch's shard in order, from position `start` on (a resume mid-epoch)."""

    def __init__(self) -> None:
        self.size = 0
        self.keys: list[CropKey] = []

    def set_epoch(self, shard: list[int], seed: tuple[int, ...], start: int = 0) -> None:
        self.size = len(shard)
        self.keys = [CropKey(seed, position, index) for position, index in enumerate(shard)][start:]

    def __iter__(self) -> Iterator[CropKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)
