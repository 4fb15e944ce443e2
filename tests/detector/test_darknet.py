"""Darknet-53 in ultralytics' YOLOv3: darknet's weights file, the layer layout, and the loaded backbone.

The files are written here by an independent writer of darknet's format (header, then per convolution
BN bias, scale, mean, variance and the weights), so the reader is checked against the format, not
against itself. Models are built in a fresh process: ultralytics must not be imported by this one.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cg2real.detector.darknet import DARKNET_ACTIVATION, darknet_layout, load_darknet_backbone, read_darknet_weights
from cg2real.errors import DataError

DARKNET53_CONV74_BYTES = 162_482_580  # Redmon's darknet53.conv.74: a 20-byte header (version 0.2) + floats


def darknet53_convs(width: float) -> list[tuple[int, int, int]]:
    """(out, in, kernel) of Darknet-53's 52 convolutions as darknet53.cfg lists them: 32 3x3, 64 3x3/2,
    then residual stages of 1, 2, 8, 8 and 4 blocks (c/2 1x1, c 3x3), each stage after the first opened
    by a 3x3/2 convolution doubling the channels. `width` scales channels as ultralytics does (multiples of 8)."""
    def channels(c: int) -> int:
        return max(8, math.ceil(c * width / 8) * 8)

    convs = [(channels(32), 3, 3), (channels(64), channels(32), 3)]
    for c, blocks in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        if c != 64:
            convs.append((channels(c), channels(c // 2), 3))
        convs += [(channels(c) // 2, channels(c), 1), (channels(c), channels(c) // 2, 3)] * blocks
    return convs


def darknet53_arrays(width: float, seed: int) -> list[list[np.ndarray]]:
    """Random arrays for each convolution, in darknet's order: BN bias, scale, mean, variance, weights."""
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=n), rng.normal(size=n), rng.normal(size=n), rng.uniform(0.5, 2, n),
             rng.normal(size=(n, c, k, k))] for n, c, k in darknet53_convs(width)]


def write_darknet(path: Path, arrays: list[np.ndarray], version: tuple[int, int, int] = (0, 2, 0),
                  seen: int = 32013312) -> None:
    """darknet's save_weights: int32 major, minor, revision; seen (int64 from 0.2 on); float32 arrays."""
    seen_type = "<i8" if version[0] * 10 + version[1] >= 2 else "<i4"
    with path.open("wb") as handle:
        handle.write(np.array(version, "<i4").tobytes() + np.array([seen], seen_type).tobytes())
        for array in arrays:
            handle.write(np.asarray(array, "<f4").tobytes())


@pytest.mark.parametrize("version, seen_bytes", [((0, 2, 0), 8), ((0, 1, 0), 4), ((1, 0, 0), 8)])
def test_header_and_arrays_are_read_as_written(tmp_path, version, seen_bytes):
    path = tmp_path / "w.weights"
    arrays = [np.arange(5, dtype=np.float32), np.full(3, -2.5, np.float32)]
    write_darknet(path, arrays, version, seen=1234)
    header, values = read_darknet_weights(path)
    assert (header.major, header.minor, header.revision, header.seen) == (*version, 1234)
    assert header.seen_is_int64 == (seen_bytes == 8)
    assert path.stat().st_size == 12 + seen_bytes + 8 * 4
    np.testing.assert_array_equal(values, np.concatenate(arrays))


def test_the_reference_layout_is_the_size_of_redmons_file():
    convs = darknet53_convs(1.0)
    floats = sum(n * c * k * k + 4 * n for n, c, k in convs)
    assert len(convs) == 52 and 12 + 8 + 4 * floats == DARKNET53_CONV74_BYTES


def test_a_torn_file_is_refused(tmp_path):
    path = tmp_path / "w.weights"
    write_darknet(path, [np.ones(4, np.float32)])
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(DataError, match="not a whole number of float32"):
        read_darknet_weights(path)


def test_a_small_network_is_loaded_in_darknet_order(tmp_path):
    """Plain torch: conv+BN, then a conv with bias; every value lands where darknet's order says."""
    import torch.nn as nn

    net = nn.Sequential(nn.Conv2d(3, 2, 3, bias=False), nn.BatchNorm2d(2), nn.LeakyReLU(0.1), nn.Conv2d(2, 4, 1))
    rng = np.random.default_rng(0)
    bn = [rng.normal(size=2).astype(np.float32) for _ in range(3)] + [rng.uniform(0.5, 2, 2).astype(np.float32)]
    w1, b2, w2 = rng.normal(size=(2, 3, 3, 3)), rng.normal(size=4), rng.normal(size=(4, 2, 1, 1))
    write_darknet(tmp_path / "w", [*bn, w1, b2, w2])
    assert load_darknet_backbone(net, tmp_path / "w") == 2
    for tensor, expected in zip((net[1].bias, net[1].weight, net[1].running_mean, net[1].running_var), bn):
        np.testing.assert_array_equal(tensor.detach().numpy(), expected)
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), w1.astype(np.float32))
    np.testing.assert_array_equal(net[3].bias.detach().numpy(), b2.astype(np.float32))
    np.testing.assert_array_equal(net[3].weight.detach().numpy(), w2.astype(np.float32))
    write_darknet(tmp_path / "short", [*bn, w1, b2])  # a file for another network
    with pytest.raises(DataError, match="holds 66 floats, but the model.s 2 backbone convolutions need 74"):
        load_darknet_backbone(net, tmp_path / "short")


def test_a_missing_weights_file_says_what_to_put_where(tmp_path):
    with pytest.raises(DataError, match=r"ImageNet weights not found; put darknet's darknet53.conv.74"):
        load_darknet_backbone(object(), tmp_path / "darknet53.conv.74")


def test_the_layout_gives_every_bottleneck_darknet_kernels():
    definition = {"nc": 80, "backbone": [[-1, 1, "Conv", [32, 3, 1]], [-1, 8, "Bottleneck", [256]]],
                  "head": [[-1, 1, "Bottleneck", [1024, False]], [[0, 1], 1, "Detect", ["nc"]]]}
    layout = darknet_layout(definition)
    assert layout["activation"] == DARKNET_ACTIVATION == "nn.LeakyReLU(0.1)"
    assert layout["backbone"] == [[-1, 1, "Conv", [32, 3, 1]], [-1, 8, "Bottleneck", [256, True, 1, [1, 3], 0.5]]]
    assert layout["head"][0] == [-1, 1, "Bottleneck", [1024, False, 1, [1, 3], 0.5]]
    assert definition["backbone"][1][3] == [256]  # the input definition is left alone
    with pytest.raises(DataError, match="with Bottleneck blocks .* none in its backbone"):
        darknet_layout({"backbone": [[-1, 1, "Conv", [16, 3, 1]]], "head": []})


# Builds ultralytics' YOLOv3 in Darknet-53's layout at width 1/8 (full depth: all 52 backbone
# convolutions), writes a darknet file of random values laid out as darknet53.cfg (not as the model),
# loads it, and reports.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np
    from cg2real.detector.offline import configure_ultralytics_offline
    work = Path(sys.argv[1])
    configure_ultralytics_offline(work / "settings")
    import torch
    from ultralytics.nn.tasks import DetectionModel, yaml_model_load
    from cg2real.detector.darknet import conv_bn_pairs, darknet_layout, load_darknet_backbone
    from tests.detector.test_darknet import darknet53_arrays, write_darknet

    base = {k: v for k, v in yaml_model_load("yolov3u.yaml").items() if k not in ("scale", "yaml_file")}
    base.update(nc=1, width_multiple=0.125)

    def build(definition):
        torch.manual_seed(0)
        return DetectionModel(definition, nc=1, verbose=False)

    model, fresh = build(darknet_layout(base)), build(darknet_layout(base))
    cut = len(base["backbone"])
    pairs = conv_bn_pairs(model.model[:cut])
    expected = [[v.astype(np.float32) for v in conv] for conv in darknet53_arrays(0.125, seed=1)]
    write_darknet(work / "darknet53.conv.74", [v for conv in expected for v in conv])
    loaded = load_darknet_backbone(model.model[:cut], work / "darknet53.conv.74")

    def equal(tensor, array):
        return bool(np.array_equal(tensor.detach().numpy(), array))

    def same(a, b):
        return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    head, fresh_head = model.model[cut:].state_dict(), fresh.model[cut:].state_dict()
    refused = ""
    try:
        load_darknet_backbone(build(base).model[:cut], work / "darknet53.conv.74")
    except Exception as err:
        refused = str(err)
    print(json.dumps({
        "loaded": loaded,
        "kernels": [conv.kernel_size[0] for conv, _ in pairs],
        "weights_equal": [equal(conv.weight, e[4]) for (conv, _), e in zip(pairs, expected)],
        "bn_equal": [equal(bn.bias, e[0]) and equal(bn.weight, e[1]) and equal(bn.running_mean, e[2])
                     and equal(bn.running_var, e[3]) for (_, bn), e in zip(pairs, expected)],
        "bn_eps": sorted({bn.eps for _, bn in pairs}),
        "activations": sorted({repr(m.act) for m in model.modules() if hasattr(m, "act") and hasattr(m, "bn")}),
        "head_as_built": same(head, fresh_head),
        "head_tensors": len(head),
        "backbone_differs_from_built": not same(model.model[:cut].state_dict(), fresh.model[:cut].state_dict()),
        "refused": refused,
    }))
    """
)


def test_darknet53_backbone_arrives_layer_for_layer_and_the_head_starts_fresh(tmp_path):
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == 52  # Darknet-53's convolutions before its classifier: darknet53.conv.74
    assert report["kernels"][:2] == [3, 3] and report["kernels"][2:4] == [1, 3]  # stem, then a residual block
    assert report["kernels"].count(1) == 1 + 2 + 8 + 8 + 4  # one 1x1 per residual block
    assert all(report["weights_equal"]) and all(report["bn_equal"]) and len(report["bn_equal"]) == 52
    assert report["bn_eps"] == [1e-5]
    assert report["activations"] == ["LeakyReLU(negative_slope=0.1)"]  # the head's convolutions too
    assert report["head_as_built"] and report["head_tensors"] > 0 and report["backbone_differs_from_built"]
    assert "the model must be Darknet-53 layer for layer" in report["refused"]  # ultralytics' 3x3 blocks
