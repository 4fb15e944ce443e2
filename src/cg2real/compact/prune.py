"""Choose the filters to delete by their scale factor, and rebuild the generator without them.

Selection (paper 001, section 3.3): a channel is a candidate when |alpha| < threshold; at most
`max_fraction` of all prunable channels go per step, smallest |alpha| first, because cutting much
at once leaves the generator far behind the frozen discriminator and retraining turns unstable.
Every group keeps at least one channel.

Rebuilding is physical, not masking: a new `CompactGenerator` of the smaller widths is built and
each tensor of the old state dict is sliced along the dimensions `parameter_axes` names (a group's
channels are the output rows of its writers, the input columns of its readers, and its alphas).
The kept alphas stay as a smaller scale vector. Folding them away would be possible (the sign into
the writing conv, since instance norm is odd; the magnitude into the readers' input weights, since
ReLU is positively homogeneous) but buys nothing: alpha is applied as the norm's affine weight in
the norm's own pass, costs one float per channel, and stays trainable for the next step.
The generator is simple enough to rebuild by hand; a dependency-graph pruner such as torch-pruning
would add a package without removing any of this, and the explicit table is easy to test.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from cg2real.compact.generator import CompactGenerator, parameter_axes

MIN_CHANNELS = 1


def channels_to_keep(generator: CompactGenerator, threshold: float, max_fraction: float) -> dict[str, torch.Tensor]:
    """Indices of the channels to keep per group (sorted), after removing the smallest |alpha| < threshold."""
    magnitudes = {name: scale.detach().abs().cpu() for name, scale in generator.scales.items()}
    total = sum(m.numel() for m in magnitudes.values())
    budget = max(1, int(max_fraction * total))  # a positive fraction always allows one channel
    candidates = sorted(
        (float(value), name, index)
        for name, values in magnitudes.items()
        for index, value in enumerate(values.tolist())
        if value < threshold
    )
    remaining = {name: values.numel() for name, values in magnitudes.items()}
    removed: dict[str, set[int]] = {name: set() for name in magnitudes}
    for _, name, index in candidates:
        if budget == 0:
            break
        if remaining[name] > MIN_CHANNELS:
            removed[name].add(index)
            remaining[name] -= 1
            budget -= 1
    return {
        name: torch.tensor([i for i in range(values.numel()) if i not in removed[name]], dtype=torch.long)
        for name, values in magnitudes.items()
    }


def _slice(tensor: torch.Tensor, axes: tuple[str | None, ...], keep: Mapping[str, torch.Tensor]) -> torch.Tensor:
    for dim, group in enumerate(axes):
        if group is not None:
            tensor = tensor.index_select(dim, keep[group].to(tensor.device))
    return tensor


def prune(generator: CompactGenerator, keep: Mapping[str, torch.Tensor]) -> CompactGenerator:
    """A new, smaller generator holding only the channels in `keep` (same device and mode)."""
    axes = parameter_axes(generator.widths)
    state = generator.state_dict()
    smaller = CompactGenerator({name: len(keep[name]) for name in generator.widths},
                               generator.stem.in_channels, generator.final.out_channels)
    smaller.load_state_dict({name: _slice(tensor, axes[name], keep) for name, tensor in state.items()})
    device = next(generator.parameters()).device
    return smaller.to(device).train(generator.training)
