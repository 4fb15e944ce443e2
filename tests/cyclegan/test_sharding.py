"""Per-epoch shards under the paper's `scale` parameter."""

from __future__ import annotations

import math

import pytest

from cg2real.cyclegan.sharding import shard_indices


@pytest.mark.parametrize("size,world,scale", [(100, 4, 1.0), (103, 4, 1.0), (100, 8, 2.5), (10, 16, 1.0), (7, 2, 4.0)])
def test_sizes_and_no_repeats(size, world, scale):
    for rank in range(world):
        shard = shard_indices(size, world, rank, scale, epoch=0, seed=3)
        assert len(shard) == min(size, math.ceil(scale * size / world))
        assert len(set(shard)) == len(shard)
        assert all(0 <= i < size for i in shard)


def test_ranks_differ_and_epochs_differ():
    shards = [shard_indices(100, 4, rank, 2.0, epoch=0, seed=0) for rank in range(4)]
    assert all(set(a) != set(b) for i, a in enumerate(shards) for b in shards[i + 1:])
    assert shard_indices(100, 4, 0, 2.0, epoch=1, seed=0) != shards[0]


def test_scale_equal_to_world_gives_everyone_everything_in_own_order():
    shards = [shard_indices(50, 4, rank, 4.0, epoch=2, seed=0) for rank in range(4)]
    assert all(sorted(s) == list(range(50)) for s in shards)
    assert len({tuple(s) for s in shards}) == 4


def test_scale_one_partitions_the_dataset():
    shards = [shard_indices(120, 6, rank, 1.0, epoch=5, seed=1) for rank in range(6)]
    assert sorted(i for s in shards for i in s) == list(range(120))


def test_scale_above_one_overlaps():
    shards = [set(shard_indices(120, 6, rank, 2.0, epoch=0, seed=1)) for rank in range(6)]
    assert sum(len(s) for s in shards) == 240
    assert len(set().union(*shards)) == 120


def test_deterministic():
    assert shard_indices(77, 3, 1, 1.5, epoch=4, seed=9) == shard_indices(77, 3, 1, 1.5, epoch=4, seed=9)
    assert shard_indices(77, 3, 1, 1.5, epoch=4, seed=9) != shard_indices(77, 3, 1, 1.5, epoch=4, seed=10)


@pytest.mark.parametrize("size,world,rank,scale", [(0, 1, 0, 1.0), (10, 2, 2, 1.0), (10, 2, -1, 1.0),
                                                   (10, 2, 0, 0.0), (10, 0, 0, 1.0)])
def test_rejects_bad_arguments(size, world, rank, scale):
    with pytest.raises(ValueError):
        shard_indices(size, world, rank, scale, epoch=0, seed=0)
