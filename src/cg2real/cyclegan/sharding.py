"""Which training images each process sees in an epoch, under the paper's `scale` parameter."""

from __future__ import annotations

import math

import numpy as np


def shard_indices(dataset_size: int, world_size: int, rank: int, scale: float, epoch: int, seed: int) -> list[int]:
    """Indices into the dataset for process `rank` of `world_size` in `epoch`.

    The paper (000, section 3.2) has each process draw scale x D / n samples at random, so shards
    overlap: with scale 1 the n processes together see about one dataset per epoch, with
    scale n each process sees the whole dataset. Built as follows so that it needs no
    communication and is reproducible on resume:

    * one permutation of range(D) per epoch, from (seed, epoch), identical on every rank;
    * rank r takes count = min(D, ceil(scale x D / n)) consecutive items of it starting at
      r x ceil(D / n), wrapping around. Since count <= D a shard never repeats an image, and
      with scale 1 and D divisible by n the shards are an exact partition (as DistributedSampler
      gives); larger scales make neighbouring shards overlap;
    * each rank then shuffles its own shard with (seed, epoch, rank), so ranks whose shards
      coincide (scale >= n) still visit the images in different orders.
    """
    if dataset_size < 1:
        raise ValueError(f"dataset_size must be >= 1, got {dataset_size}")
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    count = min(dataset_size, math.ceil(scale * dataset_size / world_size))
    start = rank * math.ceil(dataset_size / world_size)
    order = np.random.default_rng([seed, epoch]).permutation(dataset_size)
    shard = order[(start + np.arange(count)) % dataset_size]
    np.random.default_rng([seed, epoch, rank, 1]).shuffle(shard)
    return shard.tolist()
