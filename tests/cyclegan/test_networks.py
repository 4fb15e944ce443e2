"""Network shapes, parameter counts against the reference, init and factories."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from cg2real.cyclegan.networks import (
    InstanceNorm2d,
    PatchDiscriminator,
    ResnetGenerator,
    define_discriminator,
    define_generator,
    init_weights,
)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_generator_parameter_count_matches_reference():
    assert n_params(ResnetGenerator(ngf=64, n_blocks=9)) == 11_378_179


def test_discriminator_parameter_count_matches_reference():
    assert n_params(PatchDiscriminator(ndf=64, n_layers=3)) == 2_764_737


def test_six_blocks_is_smaller_than_nine():
    assert n_params(define_generator("resnet_6blocks", 16)) < n_params(define_generator("resnet_9blocks", 16))


def test_no_affine_or_running_stats_in_norms():
    norms = [m for m in ResnetGenerator(ngf=8, n_blocks=1).modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(not m.affine and not m.track_running_stats for m in norms)


@pytest.mark.parametrize("height,width", [(64, 64), (64, 96)])
def test_generator_keeps_shape_and_range(height, width):
    torch.set_num_threads(1)
    generator = define_generator("resnet_6blocks", 8)
    with torch.no_grad():
        out = generator(torch.randn(2, 3, height, width))
    assert out.shape == (2, 3, height, width)
    assert out.abs().max() <= 1.0


def test_discriminator_scores_patches():
    torch.set_num_threads(1)
    with torch.no_grad():
        scores = define_discriminator("basic", 8)(torch.randn(1, 3, 64, 64))
    # 64 -> 32 -> 16 -> 8 (stride 2), then two stride-1 4x4 convs with padding 1: 8 -> 7 -> 6
    assert scores.shape == (1, 1, 6, 6)


def test_n_layers_name_sets_depth():
    convs = [m for m in define_discriminator("n_layers_5", 4).modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5 + 2
    assert convs[-2].out_channels == 4 * 8  # channel multiplier capped at 8


def test_init_weights_normal_with_zero_bias():
    torch.manual_seed(0)
    model = init_weights(ResnetGenerator(ngf=32, n_blocks=2), gain=0.02)
    weights = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    biases = [m.bias for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert abs(weights.std().item() - 0.02) < 0.001
    assert abs(weights.mean().item()) < 0.001
    assert all(torch.all(b == 0) for b in biases)


@pytest.mark.parametrize("factory,name", [(define_generator, "unet_256"), (define_discriminator, "pixel"),
                                          (define_discriminator, "n_layers_x")])
def test_unknown_names_list_known_ones(factory, name):
    with pytest.raises(ValueError, match="known:.*(resnet_9blocks|basic)"):
        factory(name, 8)


def _weight_gradients(model: nn.Module, x: torch.Tensor, memory_format: torch.memory_format) -> dict[str, torch.Tensor]:
    model = model.to(memory_format=memory_format)
    model(x.contiguous(memory_format=memory_format)).square().mean().backward()
    return {k: p.grad.double() for k, p in model.named_parameters() if k.endswith("weight")}


@pytest.mark.parametrize("factory", [lambda: define_generator("resnet_6blocks", 2),
                                     lambda: define_discriminator("basic", 2)], ids=["generator", "discriminator"])
def test_channels_last_gradients_match_float64(factory):
    """A batch of one through channels_last networks gets float64's gradients (torch 2.14's CPU
    instance-norm backward alone gets them wrong there; networks.InstanceNorm2d routes around it)."""
    torch.manual_seed(0)
    model, x = factory(), torch.rand(1, 3, 32, 32) * 2 - 1
    reference = _weight_gradients(copy.deepcopy(model).double(), x.double(), torch.contiguous_format)
    channels_last = _weight_gradients(copy.deepcopy(model), x, torch.channels_last)
    for key, value in reference.items():
        torch.testing.assert_close(channels_last[key], value, rtol=1e-4, atol=1e-5 * value.abs().max().item())


def test_instance_norm_keeps_the_layout_it_was_given():
    norm, x = InstanceNorm2d(4), torch.rand(1, 4, 8, 8)
    assert norm(x).is_contiguous()
    assert norm(x.contiguous(memory_format=torch.channels_last)).is_contiguous(memory_format=torch.channels_last)
