"""The CycleGAN ResNet generator with a learnable scale on every prunable filter, at any widths.

Paper 001 multiplies each filter's output by a scaling factor alpha and drives the unimportant
ones to zero with an L1 penalty. The reference generator's instance norm has no affine weights, so
the factor is an explicit per-channel vector (initialised to 1), applied right after the norm of a
conv and before its ReLU: `relu(alpha * instance_norm(conv(x)))`, i.e. alpha is the affine weight
the reference's norm leaves out (as the batch-norm gamma in network slimming). A channel whose
alpha is exactly 0 is then exactly 0 downstream, whatever its conv weights, so removing it changes
nothing.

Channel groups (one scale vector each; its width is the channel count of the group):

- `stem` (7x7 conv), `down1` (first stride-2 conv), `up1`, `up2` (the transposed convs): outputs
  read by one next conv only.
- `block<k>`: the inner channels of residual block k (output of its first conv, input of its second).
- `trunk`: the channels of the residual path, written by the second stride-2 conv and added to by
  the second conv of every block (`x + block(x)`). A channel of the trunk is one channel of every
  block at once, so it has ONE scale vector shared by all its writers: the second stride-2 conv's
  output and each block's second-conv output are multiplied by the same `trunk` alpha. When
  `alpha_trunk[j] = 0`, trunk channel j is 0 at every depth, and it is removed from all those
  writers and from every reader (each block's first conv, the first transposed conv) together.
  This keeps the residual shapes consistent and still lets the widest (most expensive) channels
  shrink; the 7x7 output conv (3 channels) is never pruned.

Each group keeps at least one channel, so no layer disappears. With every scale at 1 and full
widths, the network computes exactly what the `ResnetGenerator` it was copied from computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cg2real.cyclegan.networks import GENERATORS, ResnetGenerator
from cg2real.cyclegan.run import ModelCard, read_model_card, write_model_card
from cg2real.errors import DataError

Widths = dict[str, int]
"""Channel count per group: stem, down1, trunk, block0..block<n-1>, up1, up2."""


def full_widths(ngf: int, n_blocks: int) -> Widths:
    """The widths of the reference generator with `ngf` filters and `n_blocks` residual blocks."""
    blocks = {f"block{k}": 4 * ngf for k in range(n_blocks)}
    return {"stem": ngf, "down1": 2 * ngf, "trunk": 4 * ngf, **blocks, "up1": 2 * ngf, "up2": ngf}


def _block_count(widths: Mapping[str, int]) -> int:
    """Number of residual blocks; a DataError unless the groups are exactly those of a generator."""
    n_blocks = sum(1 for name in widths if name.startswith("block"))
    if set(widths) != set(full_widths(1, n_blocks)) or min(widths.values()) < 1:
        raise DataError(f"not the channel groups of a ResNet generator (each at least 1): {dict(widths)}")
    return n_blocks


def _scaled_norm(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Instance norm times the per-channel factor alpha.

    alpha is passed as the norm's affine weight (no bias): the same product in the norm's own pass,
    where a separate multiply would read and write every activation once more (~10% of the CPU time).
    """
    return F.instance_norm(x, weight=scale)


def _scaled_act(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return F.relu(_scaled_norm(x, scale), inplace=True)


def _reflect(x: torch.Tensor, size: int) -> torch.Tensor:
    return F.pad(x, (size,) * 4, mode="reflect")


class ResidualConvs(nn.Module):
    """The two 3x3 convs of one residual block: trunk -> inner -> trunk."""

    def __init__(self, trunk: int, inner: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(trunk, inner, kernel_size=3)
        self.conv2 = nn.Conv2d(inner, trunk, kernel_size=3)


class CompactGenerator(nn.Module):
    """ResNet generator with per-group channel widths and scale vectors `scales[group]`."""

    def __init__(self, widths: Mapping[str, int], in_channels: int = 3, out_channels: int = 3) -> None:
        super().__init__()
        n_blocks = _block_count(widths)
        w = self.widths = dict(widths)
        self.stem = nn.Conv2d(in_channels, w["stem"], kernel_size=7)
        self.down1 = nn.Conv2d(w["stem"], w["down1"], kernel_size=3, stride=2, padding=1)
        self.down2 = nn.Conv2d(w["down1"], w["trunk"], kernel_size=3, stride=2, padding=1)
        self.blocks = nn.ModuleList(ResidualConvs(w["trunk"], w[f"block{k}"]) for k in range(n_blocks))
        up = {"kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}
        self.up1 = nn.ConvTranspose2d(w["trunk"], w["up1"], **up)
        self.up2 = nn.ConvTranspose2d(w["up1"], w["up2"], **up)
        self.final = nn.Conv2d(w["up2"], out_channels, kernel_size=7)
        self.scales = nn.ParameterDict({name: nn.Parameter(torch.ones(n)) for name, n in w.items()})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scales
        x = _scaled_act(self.stem(_reflect(x, 3)), s["stem"])
        x = _scaled_act(self.down1(x), s["down1"])
        x = _scaled_act(self.down2(x), s["trunk"])
        for k, block in enumerate(self.blocks):
            inner = _scaled_act(block.conv1(_reflect(x, 1)), s[f"block{k}"])
            x = x + _scaled_norm(block.conv2(_reflect(inner, 1)), s["trunk"])
        x = _scaled_act(self.up1(x), s["up1"])
        x = _scaled_act(self.up2(x), s["up2"])
        return torch.tanh(self.final(_reflect(x, 3)))

    def scale_parameters(self) -> list[nn.Parameter]:
        """The alphas, the only parameters under the L1 penalty."""
        return list(self.scales.values())

    @classmethod
    def from_resnet(cls, resnet: ResnetGenerator) -> CompactGenerator:
        """A copy of a trained reference generator with every scale at 1 (same outputs)."""
        convs = [m for m in resnet.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        n_blocks = (len(convs) - 6) // 2  # stem, 2 down, 2 per block, 2 up, final
        ngf = convs[0].out_channels
        compact = cls(full_widths(ngf, n_blocks), convs[0].in_channels, convs[-1].out_channels)
        mine = [m for m in compact.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        for target, source in zip(mine, convs, strict=True):  # both in forward order
            target.load_state_dict(source.state_dict())
        return compact


def parameter_axes(widths: Mapping[str, int]) -> dict[str, tuple[str | None, ...]]:
    """For each state-dict entry, the channel group indexing each leading dimension (None: fixed).

    This table is what pruning slices by. Conv2d weights are [out, in, kh, kw]; ConvTranspose2d
    weights are [in, out, kh, kw], hence `up1.weight` is (trunk, up1).
    """
    axes: dict[str, tuple[str | None, ...]] = {
        "stem.weight": ("stem", None), "stem.bias": ("stem",),
        "down1.weight": ("down1", "stem"), "down1.bias": ("down1",),
        "down2.weight": ("trunk", "down1"), "down2.bias": ("trunk",),
    }
    for k in range(_block_count(widths)):
        inner, prefix = f"block{k}", f"blocks.{k}"
        axes |= {
            f"{prefix}.conv1.weight": (inner, "trunk"), f"{prefix}.conv1.bias": (inner,),
            f"{prefix}.conv2.weight": ("trunk", inner), f"{prefix}.conv2.bias": ("trunk",),
        }
    axes |= {
        "up1.weight": ("trunk", "up1"), "up1.bias": ("up1",),
        "up2.weight": ("up1", "up2"), "up2.bias": ("up2",),
        "final.weight": (None, "up2"), "final.bias": (None,),
    }
    return axes | {f"scales.{name}": (name,) for name in widths}


def model_card(generator: CompactGenerator, base_generator: str, ngf: int, **extra: object) -> ModelCard:
    """`model.json` of a compact generator: the run's card keys plus the per-group widths."""
    return ModelCard(generator=base_generator, ngf=ngf, compact=dict(generator.widths), **extra)


def save_compact_generator(generator: CompactGenerator, card: ModelCard, weights: Path, card_path: Path) -> None:
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(generator.state_dict(), weights)
    write_model_card(card, card_path)


def load_compact_generator(weights: Path, card_path: Path, device: torch.device) -> CompactGenerator:
    """The compact generator described by `card_path` (its "compact" widths) with `weights`."""
    for path in (weights, card_path):
        if not path.is_file():
            raise DataError(f"compact generator file not found: {path} (run compact-generator first)")
    card = read_model_card(card_path)
    if not card.is_compact:
        raise DataError(f"{card_path} has no 'compact' widths: not a compact generator's model card")
    generator = CompactGenerator(card.compact)
    if card.generator in GENERATORS and GENERATORS[card.generator] != len(generator.blocks):
        raise DataError(f"{card_path}: {len(generator.blocks)} blocks in 'compact' but generator {card.generator}")
    try:
        generator.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except RuntimeError as err:
        first = str(err).splitlines()[1] if "\n" in str(err) else str(err)
        raise DataError(f"{weights} does not fit the compact widths of {card_path}: {first.strip()}") from err
    return generator.to(device).eval()
