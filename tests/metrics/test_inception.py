"""The FID Inception network from a local weights file: never downloads, clear errors, sane features.

The real weights cannot be fetched here, so a file of the same tensors with random values stands in.
"""

from __future__ import annotations

import logging
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from pytorch_fid import inception as pytorch_fid_inception

from cg2real.errors import DataError
from cg2real.metrics.inception import (
    WEIGHTS_FILE,
    WEIGHTS_URL,
    default_weights_path,
    fid_of_image_sets,
    inception_features,
    load_fid_inception,
)

CPU = torch.device("cpu")


def write_fake_fid_weights(path: Path) -> Path:
    """Random weights with the FID Inception's exact tensors (torchvision's Inception3 with 1008
    classes and no aux head has the same ones). BatchNorm statistics are set from one batch of noise,
    so features are of order 1 as with the real weights, not vanishing through 90 layers."""
    torch.manual_seed(0)
    model = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # running statistics = those of the batches seen
    model.train()
    with torch.no_grad():
        model(torch.rand(2, 3, 299, 299) * 2 - 1)
    torch.save(model.state_dict(), path)
    return path


def images(seed: int, count: int, size: int = 32) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(count)]


@pytest.fixture(scope="module")
def fake_weights(tmp_path_factory) -> Path:
    return write_fake_fid_weights(tmp_path_factory.mktemp("fid") / WEIGHTS_FILE)


@pytest.fixture(scope="module")
def model(fake_weights) -> torch.nn.Module:
    return load_fid_inception(fake_weights, CPU)


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """An empty torch hub dir and every download path of torch.hub / urllib turned into an error."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"tried to download: {args[:1]}")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_missing_weights_name_the_file_where_and_where_to_get_it(tmp_path):
    weights = tmp_path / "hub/checkpoints" / WEIGHTS_FILE
    with pytest.raises(DataError) as raised:
        load_fid_inception(weights, CPU)
    message = str(raised.value)
    assert f"not found at {weights}" in message
    assert f"place the file {WEIGHTS_FILE}" in message
    assert WEIGHTS_URL in message and "pytorch-fid release asset" in message


def test_default_path_is_where_pytorch_fid_looks(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert default_weights_path() == tmp_path / "hub/checkpoints" / WEIGHTS_FILE


def test_builds_from_the_file_without_any_download(fake_weights, no_network, caplog):
    with pytest.raises(AssertionError, match="tried to download"):
        pytorch_fid_inception.fid_inception_v3()  # the guard works: pytorch-fid alone would download
    original_loader = pytorch_fid_inception.load_state_dict_from_url
    with caplog.at_level(logging.WARNING):
        model = load_fid_inception(fake_weights, CPU)
    stored = torch.load(fake_weights, weights_only=True)
    assert torch.equal(model.blocks[0][0].conv.weight, stored["Conv2d_1a_3x3.conv.weight"])
    assert torch.equal(model.blocks[3][1].branch_pool.conv.weight, stored["Mixed_7b.branch_pool.conv.weight"])
    assert not model.training
    assert pytorch_fid_inception.load_state_dict_from_url is original_loader  # restored afterwards
    assert "not comparable with published ones" in caplog.text  # random weights are not the standard file


def test_a_wrong_file_is_a_clear_error(tmp_path, no_network):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="not a torch weights file"):
        load_fid_inception(garbage, CPU)
    other = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, other)
    with pytest.raises(DataError, match="does not fit the FID Inception network"):
        load_fid_inception(other, CPU)


def test_features_are_2048_d_deterministic_and_independent_of_batching(model):
    mixed = images(1, 2) + images(2, 1, size=40)  # two sizes: batches are cut where the size changes
    first = inception_features(model, iter(mixed), batch_size=4, device=CPU)
    assert first.shape == (3, 2048) and first.dtype == np.float64
    assert np.isfinite(first).all() and first.std(axis=0).mean() > 1e-3  # not a constant
    np.testing.assert_array_equal(first, inception_features(model, mixed, batch_size=4, device=CPU))
    np.testing.assert_allclose(inception_features(model, mixed, batch_size=1, device=CPU), first, rtol=1e-4, atol=1e-6)
    with pytest.raises(DataError, match="no images"):
        inception_features(model, [], batch_size=4, device=CPU)


def test_fid_of_a_set_with_itself_is_zero_and_of_different_sets_positive(model):
    noise, flat = images(3, 3), [np.full((32, 32, 3), 60 * i, np.uint8) for i in range(3)]
    different = fid_of_image_sets(model, noise, flat, batch_size=4, device=CPU)
    assert different > 1.0
    assert abs(fid_of_image_sets(model, noise, noise, batch_size=4, device=CPU)) < 1e-6 * different
