"""Image pool behaviour and exact continuation after a checkpoint round trip."""

from __future__ import annotations

import io

import pytest
import torch

from cg2real.cyclegan.pool import ImagePool


def batch(value: float, size: int = 2) -> torch.Tensor:
    return torch.full((size, 1, 2, 2), value) + torch.arange(size).view(size, 1, 1, 1) / 10


def test_size_zero_passes_through():
    images = batch(1.0)
    assert ImagePool(0, torch.Generator().manual_seed(0)).query(images) is images


def test_fills_before_returning_history():
    pool = ImagePool(4, torch.Generator().manual_seed(0))
    for value in (1.0, 2.0):
        images = batch(value)
        assert torch.equal(pool.query(images), images)
    assert len(pool.images) == 4


def test_full_pool_mixes_history_and_keeps_size():
    pool = ImagePool(4, torch.Generator().manual_seed(0))
    pool.query(torch.cat([batch(1.0), batch(2.0)]))
    out = [pool.query(batch(float(v))) for v in range(3, 23)]
    from_history = sum(int(o[i, 0, 0, 0] < v) for o, v in zip(out, range(3, 23)) for i in range(2))
    assert 5 < from_history < 35  # about half of 40 images come from the history
    assert len(pool.images) == 4
    assert all(o.shape == (2, 1, 2, 2) for o in out)


def test_stored_images_are_detached_copies():
    pool = ImagePool(2, torch.Generator().manual_seed(0))
    images = batch(1.0).requires_grad_()
    pool.query(images)
    assert all(not stored.requires_grad for stored in pool.images)
    with torch.no_grad():
        images.add_(5)
    assert pool.images[0][0, 0, 0].item() == pytest.approx(1.0)


def test_restored_pool_continues_identically():
    original = ImagePool(3, torch.Generator().manual_seed(7))
    for v in range(4):
        original.query(batch(float(v)))
    buffer = io.BytesIO()
    torch.save(original.state_dict(), buffer)
    buffer.seek(0)
    restored = ImagePool(3, torch.Generator().manual_seed(999))
    restored.load_state_dict(torch.load(buffer))
    for v in range(4, 14):
        assert torch.equal(original.query(batch(float(v))), restored.query(batch(float(v))))


def test_same_seed_same_outputs_different_seed_differs():
    def run(seed: int) -> torch.Tensor:
        pool = ImagePool(3, torch.Generator().manual_seed(seed))
        return torch.cat([pool.query(batch(float(v))) for v in range(12)])

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


def test_rejects_state_of_other_size():
    state = ImagePool(3, torch.Generator()).state_dict()
    with pytest.raises(ValueError):
        ImagePool(4, torch.Generator()).load_state_dict(state)
