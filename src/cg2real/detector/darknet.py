"""Redmon's Darknet-53 inside ultralytics' YOLOv3: its layer layout, and its own weights file.

The paper fine-tunes YOLOv3 from Darknet-53 pretrained on ImageNet (`darknet53.conv.74`, the first 74
layers of darknet53.cfg: 52 convolutions with batch norm, and the shortcuts between them). ultralytics'
`yolov3.yaml` is not that network: its `Bottleneck` defaults to two 3x3 convolutions where Darknet-53's
residual block is a 1x1 then a 3x3, and its activation is SiLU where darknet's is LeakyReLU(0.1).
`darknet_layout` fixes both in the model definition (every Bottleneck, so the neck matches darknet's
yolov3.cfg too; only the detection head stays ultralytics' anchor-free one). `load_darknet_backbone`
then copies the file's arrays into the model's convolutions in order.

The file format (darknet's `save_weights`): int32 major, minor, revision; `seen` (images trained on),
an int64 from version 0.2 on and an int32 before; then float32 arrays, layer by layer. A convolution
with batch norm stores its BN bias (beta), BN scale (gamma), running mean and running variance, then its
weights in (out, in, kh, kw) order, which is torch's; one without batch norm stores its bias, then its
weights. Shortcut layers store nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cg2real.errors import DataError

DARKNET_ACTIVATION = "nn.LeakyReLU(0.1)"  # darknet's "leaky"
RESIDUAL_KERNELS = [1, 3]  # Darknet-53's residual block: a 1x1 convolution, then a 3x3
DARKNET_BN_EPS = 1e-5  # darknet's GPU normalisation, sqrt(var + 1e-5); ultralytics sets 1e-3 on its own


@dataclass(frozen=True)
class DarknetHeader:
    """The header of a darknet weights file."""

    major: int
    minor: int
    revision: int
    seen: int

    @property
    def seen_is_int64(self) -> bool:
        return wide_seen(self.major, self.minor)


def wide_seen(major: int, minor: int) -> bool:
    """darknet writes `seen` as a size_t (int64) from version 0.2 on, as an int32 before."""
    return major * 10 + minor >= 2 and major < 1000 and minor < 1000


def read_darknet_weights(path: Path) -> tuple[DarknetHeader, np.ndarray]:
    """The header and the float32 arrays (one flat vector, in layer order) of a darknet weights file."""
    data = Path(path).read_bytes()
    if len(data) < 16:
        raise DataError(f"{path} is not a darknet weights file: {len(data)} bytes, shorter than its header")
    major, minor, revision = (int(v) for v in np.frombuffer(data, "<i4", 3))
    seen_type = "<i8" if wide_seen(major, minor) else "<i4"
    seen = int(np.frombuffer(data, seen_type, 1, offset=12)[0])
    start = 12 + np.dtype(seen_type).itemsize
    if (len(data) - start) % 4:
        raise DataError(f"{path}: {len(data) - start} bytes after the header are not a whole number of float32")
    return DarknetHeader(major, minor, revision, seen), np.frombuffer(data, "<f4", offset=start)


def darknet_layout(definition: dict[str, Any]) -> dict[str, Any]:
    """An ultralytics YOLOv3 definition rewritten to Darknet-53's layout: each Bottleneck a 1x1 then a
    3x3 convolution (args c2, shortcut, groups 1, kernels, expansion 0.5), activation LeakyReLU(0.1)."""

    def layer(entry: list) -> list:
        source, repeats, module, args = entry
        if module != "Bottleneck":
            return entry
        shortcut = args[1] if len(args) > 1 else True
        return [source, repeats, module, [args[0], shortcut, 1, list(RESIDUAL_KERNELS), 0.5]]

    if not any(entry[2] == "Bottleneck" for entry in definition["backbone"]):
        raise DataError("the Darknet-53 layout needs a YOLOv3 definition with Bottleneck blocks "
                        "(model: yolov3u.yaml); this one has none in its backbone")
    return {
        **definition,
        "activation": DARKNET_ACTIVATION,
        "backbone": [layer(e) for e in definition["backbone"]],
        "head": [layer(e) for e in definition["head"]],
    }


def conv_bn_pairs(module: Any) -> list[tuple[Any, Any]]:
    """Each convolution of `module` with the batch norm that follows it (or None), in definition order:
    darknet's layer order, since ultralytics' Conv registers its conv before its bn."""
    import torch.nn as nn

    pairs: list[list] = []
    for child in module.modules():
        if isinstance(child, nn.Conv2d):
            pairs.append([child, None])
        elif isinstance(child, nn.BatchNorm2d) and pairs and pairs[-1][1] is None:
            pairs[-1][1] = child
    return [(conv, bn) for conv, bn in pairs]


def load_darknet_backbone(backbone: Any, path: Path) -> int:
    """Copy a darknet weights file into `backbone`'s convolutions, in order; returns how many.

    The file must hold exactly what these convolutions need: a model that is not Darknet-53 layer for
    layer (e.g. ultralytics' own yolov3.yaml) needs a different number of floats, and is refused. The
    loaded batch norms get darknet's epsilon, so the statistics mean what they meant in darknet.
    """
    import torch

    if not Path(path).is_file():
        raise DataError(f"{path}: Darknet-53 ImageNet weights not found; put darknet's darknet53.conv.74 "
                        "(from Redmon's darknet site) there, or set detector.train.init to coco_detector or scratch")
    header, values = read_darknet_weights(path)
    pairs = conv_bn_pairs(backbone)
    needed = sum(conv.weight.numel() + 4 * conv.out_channels if bn is not None else
                 conv.weight.numel() + conv.out_channels for conv, bn in pairs)
    if needed != values.size:
        raise DataError(f"{path} (darknet {header.major}.{header.minor}.{header.revision}) holds {values.size} "
                        f"floats, but the model's {len(pairs)} backbone convolutions need {needed}: the model "
                        "must be Darknet-53 layer for layer (init imagenet_backbone builds it from yolov3u.yaml)")
    offset = 0

    def take(target: torch.Tensor) -> None:
        nonlocal offset
        chunk = values[offset:offset + target.numel()]
        target.data.copy_(torch.from_numpy(chunk.copy()).view_as(target))
        offset += target.numel()

    with torch.no_grad():
        for conv, bn in pairs:
            if bn is not None:
                for target in (bn.bias, bn.weight, bn.running_mean, bn.running_var):
                    take(target)
                bn.eps = DARKNET_BN_EPS
            else:
                take(conv.bias)
            take(conv.weight)
    return len(pairs)
