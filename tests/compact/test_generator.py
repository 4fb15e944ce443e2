"""The scaled generator: same function as the reference at full width, a consistent slicing table."""

from __future__ import annotations

import pytest
import torch

from cg2real.compact.generator import CompactGenerator, full_widths, parameter_axes
from cg2real.cyclegan.networks import define_generator
from cg2real.errors import DataError


def test_copy_of_reference_computes_the_same():
    torch.manual_seed(0)
    resnet = define_generator("resnet_6blocks", 4).eval()
    compact = CompactGenerator.from_resnet(resnet).eval()
    x = torch.rand(2, 3, 32, 48) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(compact(x), resnet(x), atol=1e-6)
    assert compact.widths == full_widths(4, 6)


def test_scales_change_the_output():
    torch.manual_seed(0)
    compact = CompactGenerator.from_resnet(define_generator("resnet_6blocks", 4)).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        before = compact(x)
        compact.scales["trunk"].mul_(0.5)
        assert not torch.allclose(compact(x), before, atol=1e-4)


@pytest.mark.parametrize("n_blocks", [1, 9])
def test_axes_table_covers_every_tensor_with_matching_sizes(n_blocks):
    widths = {**full_widths(4, n_blocks), "trunk": 5, "block0": 3, "up1": 2}  # all groups distinct-ish
    generator = CompactGenerator(widths)
    axes = parameter_axes(widths)
    state = generator.state_dict()
    assert set(axes) == set(state)
    for name, tensor in state.items():
        for dim, group in enumerate(axes[name]):
            if group is not None:
                assert tensor.shape[dim] == widths[group], name


@pytest.mark.parametrize(
    "widths", [{"stem": 4}, {**full_widths(4, 2), "block0": 0}, {**full_widths(4, 2), "block7": 3}]
)
def test_rejects_widths_that_are_no_generator(widths):
    with pytest.raises(DataError, match="channel groups"):
        CompactGenerator(widths)
