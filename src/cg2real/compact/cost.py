"""What a generator costs: parameters, multiply-accumulates (MACs) per image, CPU latency.

MACs are counted by forward hooks on every Conv2d and ConvTranspose2d, for one image (batch 1):

- Conv2d: `H_out * W_out * C_out * (C_in / groups) * k_h * k_w` (every output value is a dot
  product over its receptive field).
- ConvTranspose2d: `H_in * W_in * C_in * (C_out / groups) * k_h * k_w` (every input value is
  multiplied into a k_h x k_w kernel for each output channel; counting by output pixels instead
  would overstate a stride-2 layer about four times). fvcore and torch's FlopCounterMode count the
  same way (FLOPs = 2 x MACs).

Biases, norms, scales, ReLU, padding and tanh are not counted: they are O(1) per value, a few
percent at most. Latency follows paper 001's measure: one image on the CPU with one thread
(`torch.set_num_threads(1)`, restored afterwards), the median of `repeats` timed runs after one
warm-up run.
"""

from __future__ import annotations

import copy
import statistics
import time

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _conv_macs(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> int:
    kernel = module.kernel_size[0] * module.kernel_size[1]
    if isinstance(module, nn.ConvTranspose2d):
        return inputs[0][0, 0].numel() * module.in_channels * (module.out_channels // module.groups) * kernel
    return output[0, 0].numel() * module.out_channels * (module.in_channels // module.groups) * kernel


@torch.no_grad()
def count_macs(model: nn.Module, height: int, width: int | None = None, in_channels: int = 3) -> int:
    """MACs of the convolutions for one `in_channels` x height x width input."""
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += _conv_macs(module, inputs, output)

    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    handles = [m.register_forward_hook(hook) for m in convs]
    try:
        device = next(model.parameters()).device
        model(torch.zeros(1, in_channels, height, width or height, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return total


@torch.no_grad()
def cpu_latency_ms(model: nn.Module, size: int, repeats: int) -> float:
    """Median milliseconds for one size x size image on the CPU with one thread."""
    cpu_model = copy.deepcopy(model).cpu().eval()
    image = torch.zeros(1, 3, size, size)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cpu_model(image)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            cpu_model(image)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        torch.set_num_threads(threads)
    return statistics.median(times)
