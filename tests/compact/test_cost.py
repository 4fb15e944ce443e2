"""The MAC counter against hand computations and torch's own FLOP counter; latency keeps thread settings."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cg2real.compact.cost import count_macs, count_parameters, cpu_latency_ms
from cg2real.cyclegan.networks import ResnetGenerator


def test_conv_macs_by_hand():
    conv = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1)
    # 16x16 input, stride 2 -> 8x8 output; each of 8 x 8 x 8 outputs sums 3 x 3 x 3 products
    assert count_macs(conv, 16, 16) == 8 * 8 * 8 * (3 * 3 * 3) == 13_824


def test_transposed_conv_macs_by_hand():
    deconv = nn.ConvTranspose2d(8, 4, kernel_size=3, stride=2, padding=1, output_padding=1)
    # 8x8 input (-> 16x16 output): each of 8 x 8 x 8 input values meets a 4 x 3 x 3 kernel
    assert count_macs(deconv, 8, 8, in_channels=8) == 8 * 8 * 8 * (4 * 3 * 3) == 18_432


def test_rectangular_input_and_grouped_conv():
    conv = nn.Conv2d(4, 6, kernel_size=1, groups=2)
    assert count_macs(conv, 5, 7, in_channels=4) == 5 * 7 * 6 * 2


def test_generator_macs_match_torch_flop_counter():
    generator = ResnetGenerator(ngf=8, n_blocks=2).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        generator(torch.zeros(1, 3, 64, 64))
    assert count_macs(generator, 64) == counter.get_total_flops() // 2


def test_reference_generator_by_hand():
    # at 64x64 (x 16 = 49,551,507,456 at 256x256): stem + final 2 x 3*64*49*64^2; the four stride-2
    # layers 4 x 64*128*9*32^2 (= 128*256*9*16^2); 9 blocks 18 x 256*256*9*16^2
    expected = 2 * 3 * 64 * 49 * 64**2 + 4 * 64 * 128 * 9 * 32**2 + 18 * 256 * 256 * 9 * 16**2
    assert count_macs(ResnetGenerator(ngf=64, n_blocks=9), 64) == expected == 49_551_507_456 // 16


def test_hooks_are_removed():
    conv = nn.Conv2d(3, 3, 3)
    count_macs(conv, 8)
    assert not conv._forward_hooks


def test_parameter_count():
    assert count_parameters(nn.Conv2d(3, 8, 3)) == 8 * 3 * 9 + 8


class ThreadProbe(nn.Module):
    """Records the thread count it runs with."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)
        self.seen: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(torch.get_num_threads())
        return self.conv(x)


def test_latency_runs_on_one_thread_and_restores_the_count(monkeypatch):
    original = torch.get_num_threads()
    torch.set_num_threads(2)
    probe = ThreadProbe()
    monkeypatch.setattr("copy.deepcopy", lambda module: module)  # time the probe itself, not a copy
    try:
        latency = cpu_latency_ms(probe, 16, repeats=3)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(original)
    assert probe.seen == [1] * 4  # warm-up + 3 timed runs
    assert latency > 0
