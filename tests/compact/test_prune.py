"""Channel selection and physical pruning: smaller, exact when only zero-scale filters go, consistent trunk."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cg2real.compact.cost import count_macs, count_parameters
from cg2real.compact.generator import CompactGenerator
from cg2real.compact.prune import channels_to_keep, prune
from cg2real.cyclegan.networks import define_generator

ZEROED = {
    "stem": [0], "down1": [1, 5], "trunk": [0, 3, 7, 15], "block0": [2], "block5": [0, 1, 15], "up1": [4], "up2": [3],
}


@pytest.fixture
def generator() -> CompactGenerator:
    """A ngf-4, 6-block generator with random (non-unit) scales, so slicing mistakes show."""
    torch.manual_seed(0)
    compact = CompactGenerator.from_resnet(define_generator("resnet_6blocks", 4)).eval()
    with torch.no_grad():
        for scale in compact.scale_parameters():
            scale.uniform_(0.5, 1.5)
    return compact


def zero_scales(generator: CompactGenerator, channels: dict[str, list[int]]) -> None:
    with torch.no_grad():
        for name, indices in channels.items():
            generator.scales[name][indices] = 0.0


def keep_all_but(generator: CompactGenerator, removed: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    return {name: torch.tensor([i for i in range(width) if i not in removed.get(name, [])])
            for name, width in generator.widths.items()}


def test_prune_lowers_params_and_macs(generator):
    smaller = prune(generator, keep_all_but(generator, ZEROED))
    assert smaller.widths["trunk"] == 12 and smaller.widths["block5"] == 13
    assert count_parameters(smaller) < count_parameters(generator)
    assert count_macs(smaller, 64) < count_macs(generator, 64)
    convs = [m for m in smaller.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert sum(m.weight.numel() for m in convs) < sum(
        m.weight.numel() for m in generator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def test_removing_zero_scale_filters_keeps_the_output(generator):
    zero_scales(generator, ZEROED)
    x = torch.rand(2, 3, 32, 40) * 2 - 1
    smaller = prune(generator, channels_to_keep(generator, threshold=1e-12, max_fraction=1.0))
    assert smaller.widths == {name: width - len(ZEROED.get(name, [])) for name, width in generator.widths.items()}
    with torch.no_grad():
        assert torch.allclose(smaller(x), generator(x), atol=1e-5)


def test_removing_live_filters_changes_the_output(generator):
    """The exactness above is not vacuous: dropping channels with non-zero scale does change the image."""
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(prune(generator, keep_all_but(generator, ZEROED))(x), generator(x), atol=1e-4)


def test_trunk_stays_consistent(generator):
    smaller = prune(generator, keep_all_but(generator, ZEROED))
    trunk = smaller.widths["trunk"]
    assert smaller.down2.out_channels == smaller.up1.in_channels == trunk
    for k, block in enumerate(smaller.blocks):
        assert block.conv1.in_channels == block.conv2.out_channels == trunk
        assert block.conv1.out_channels == block.conv2.in_channels == smaller.widths[f"block{k}"]
    assert smaller.scales["trunk"].shape == (trunk,)
    assert smaller(torch.zeros(1, 3, 36, 52)).shape == (1, 3, 36, 52)


def test_selection_takes_smallest_under_threshold_within_budget(generator):
    zero_scales(generator, ZEROED)
    with torch.no_grad():
        generator.scales["up2"][0] = 0.01  # under the threshold, but larger than every zero
    total = sum(generator.widths.values())  # 136 channels
    keep = channels_to_keep(generator, threshold=0.05, max_fraction=13 / total)
    removed = {name: set(range(generator.widths[name])) - set(keep[name].tolist()) for name in keep}
    assert removed == {name: set(ZEROED.get(name, [])) for name in generator.widths}  # 0.01 missed the budget
    keep = channels_to_keep(generator, threshold=0.05, max_fraction=1.0)
    assert 0 not in keep["up2"].tolist()
    keep = channels_to_keep(generator, threshold=0.005, max_fraction=1.0)
    assert 0 in keep["up2"].tolist()  # above the threshold: kept


def test_every_group_keeps_a_channel(generator):
    keep = channels_to_keep(generator, threshold=10.0, max_fraction=1.0)
    assert all(len(indices) == 1 for indices in keep.values())
    assert prune(generator, keep)(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 16, 16)


def test_a_small_positive_fraction_still_removes_one(generator):
    keep = channels_to_keep(generator, threshold=10.0, max_fraction=1e-6)
    assert sum(len(k) for k in keep.values()) == sum(generator.widths.values()) - 1
