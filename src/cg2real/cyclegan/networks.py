"""The CycleGAN networks of Zhu et al. (ResNet generator, 70x70 PatchGAN) and their factories.

Layer for layer the reference implementation's (junyanz/pytorch-CycleGAN-and-pix2pix) with
instance norm, so parameter counts match it and its checkpoints' shapes line up. In training,
G_A maps CG -> real and G_B real -> CG; D_A judges real images, D_B CG images.
Nothing here is wrapped for data parallelism: distribution is handled by the training loop.
"""

from __future__ import annotations

import re

import torch
from torch import nn

GENERATORS = {"resnet_9blocks": 9, "resnet_6blocks": 6}
DISCRIMINATORS = ("basic", "n_layers_<k>")


class _ChannelsLastOutput(torch.autograd.Function):
    """Forward: the tensor in channels_last layout; backward: the gradient in the default layout."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous()


class InstanceNorm2d(nn.InstanceNorm2d):
    """nn.InstanceNorm2d that stays correct in a channels_last network.

    Instance norm always outputs the default layout, and a channels_last convolution after it
    sends back a channels_last gradient; for a batch of one, torch 2.14's CPU instance-norm backward
    then returns wrong input gradients (with `channels_last: true` the generator's gradients were
    off by more than their own size while the losses agreed; tests/cyclegan/test_networks.py checks
    against float64). So on channels_last input the output is handed on in channels_last (the copy
    the next convolution would make anyway) and its gradient comes back in the default layout.
    Inputs in the default layout (every run without channels_last) take the plain path.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            return _ChannelsLastOutput.apply(y)
        return y


def _norm(channels: int) -> nn.Module:
    """Instance norm without affine parameters or running stats, as the reference's 'instance'."""
    return InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    """Two reflect-padded 3x3 convs with a skip connection: output = x + block(x)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, kernel_size=3),
            _norm(channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, kernel_size=3),
            _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """Encoder (two stride-2 convs), `n_blocks` residual blocks, decoder (two transposed convs).

    Fully convolutional: any input with height and width divisible by 4 keeps its shape,
    which is what lets a generator trained on crops translate whole frames.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, kernel_size=7),
            _norm(ngf),
            nn.ReLU(inplace=True),
        ]
        for mult in (1, 2):
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1),
                _norm(ngf * mult * 2),
                nn.ReLU(inplace=True),
            ]
        layers += [ResidualBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1, output_padding=1),
                _norm(ngf * mult // 2),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, kernel_size=7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: one real/fake score per overlapping patch (70x70 pixels with n_layers=3).

    Judging patches instead of whole images models texture and style only, which is the part
    of the CG-to-real gap the translation is meant to close.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, ndf, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        channels = ndf
        for n in range(1, n_layers):
            out = ndf * min(2**n, 8)
            layers += [nn.Conv2d(channels, out, kernel_size=4, stride=2, padding=1), _norm(out), nn.LeakyReLU(0.2, inplace=True)]
            channels = out
        out = ndf * min(2**n_layers, 8)
        layers += [nn.Conv2d(channels, out, kernel_size=4, stride=1, padding=1), _norm(out), nn.LeakyReLU(0.2, inplace=True)]
        layers.append(nn.Conv2d(out, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def init_weights(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """The reference's 'normal' init: conv weights ~ N(0, gain), biases 0. Returns `module`."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def define_generator(name: str, ngf: int) -> nn.Module:
    """Build and initialise a generator by the reference's name ('resnet_9blocks', 'resnet_6blocks')."""
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; known: {', '.join(GENERATORS)}")
    return init_weights(ResnetGenerator(ngf=ngf, n_blocks=GENERATORS[name]))


def define_discriminator(name: str, ndf: int) -> nn.Module:
    """Build and initialise a discriminator: 'basic' (the 70x70 PatchGAN) or 'n_layers_<k>'."""
    if name == "basic":
        n_layers = 3
    elif match := re.fullmatch(r"n_layers_([1-9][0-9]*)", name):
        n_layers = int(match.group(1))
    else:
        raise ValueError(f"unknown discriminator {name!r}; known: {', '.join(DISCRIMINATORS)}")
    return init_weights(PatchDiscriminator(ndf=ndf, n_layers=n_layers))


def set_requires_grad(models: list[nn.Module], flag: bool) -> None:
    """Freeze (False) or unfreeze (True) every parameter of `models`."""
    for model in models:
        for parameter in model.parameters():
            parameter.requires_grad_(flag)
