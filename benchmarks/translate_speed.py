"""Translation speed of the full and the compact CG->real generator at the CG frame size.

Both generators are loaded the way the translate rule loads them (`load_generator`) and timed on
the same device in the same process through `translate_images` (tensor conversion, padding to a
multiple of 4, generator, conversion back), on random frames of the CG frame size (the demo's
320x240 by default; SYNTHIA-RAND-CVPR16 is 960x720). `--synthetic` needs no trained run: it builds
a ResNet-9 generator with ngf 64 (the paper's) and a copy keeping the first `--keep` fraction of
every channel group, rebuilt smaller with `cg2real.compact.prune`, so the table shows what the
pruning buys in speed whatever the weights.

    python benchmarks/translate_speed.py --synthetic [--width 960 --height 720] [--device cpu --threads 1]
    python benchmarks/translate_speed.py --run-dir results/cyclegan/demo --compact-dir results/compact/demo
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from cg2real.compact.cost import count_macs, count_parameters
from cg2real.compact.generator import CompactGenerator
from cg2real.compact.paths import CARD, WEIGHTS
from cg2real.compact.prune import prune
from cg2real.cyclegan.distributed import pick_device
from cg2real.cyclegan.networks import define_generator
from cg2real.cyclegan.run import RunPaths
from cg2real.translate.translate import MULTIPLE, load_generator, translate_images


def synthetic_pair(keep: float) -> tuple[torch.nn.Module, torch.nn.Module]:
    """ResNet-9, ngf 64, and a copy with the first `keep` of each group's channels."""
    torch.manual_seed(0)
    full = define_generator("resnet_9blocks", 64).eval()
    compact = CompactGenerator.from_resnet(full)
    indices = {name: torch.arange(max(1, round(keep * width))) for name, width in compact.widths.items()}
    return full, prune(compact, indices).eval()


def run_pair(run_dir: Path, compact_dir: Path) -> tuple[torch.nn.Module, torch.nn.Module]:
    cpu = torch.device("cpu")
    run = RunPaths(run_dir)
    return (load_generator(run.generator_cg2real, run.model_card, cpu),
            load_generator(compact_dir / WEIGHTS, compact_dir / CARD, cpu))


def images_per_second(generator: torch.nn.Module, frames: list[np.ndarray], batch_size: int,
                      device: torch.device) -> float:
    """Frames translated per second, after one warm-up batch (the last batch may be smaller)."""
    translate_images(generator, frames[:batch_size], device)
    started = time.perf_counter()
    for first in range(0, len(frames), batch_size):
        translate_images(generator, frames[first : first + batch_size], device)
    return len(frames) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--synthetic", action="store_true", help="ResNet-9 ngf 64 and a pruned copy, no run needed")
    source.add_argument("--run-dir", type=Path, help="CycleGAN run folder (G_cg2real.pt, model.json)")
    parser.add_argument("--compact-dir", type=Path, help="compact-generator output folder (with --run-dir)")
    parser.add_argument("--keep", type=float, default=0.3, help="--synthetic: fraction of channels kept per group")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.run_dir and not args.compact_dir:
        parser.error("--run-dir needs --compact-dir")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device, 0)
    full, compact = synthetic_pair(args.keep) if args.synthetic else run_pair(args.run_dir, args.compact_dir)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (args.height, args.width, 3), dtype=np.uint8) for _ in range(args.frames)]
    padded = [-(-side // MULTIPLE) * MULTIPLE for side in (args.height, args.width)]
    name = "ResNet-9 ngf 64 (synthetic)" if args.synthetic else str(args.run_dir)
    print(f"{name}; {args.frames} frames of {args.width}x{args.height}, batch {args.batch_size}, device {device}"
          f", {torch.get_num_threads()} CPU threads")
    print("| generator | params | GMACs/frame | images/s | speed-up |")
    print("| --- | --- | --- | --- | --- |")
    baseline = None
    for label, generator in (("full", full), ("compact", compact)):
        generator = generator.to(device).eval()
        macs = count_macs(generator, *padded)
        rate = images_per_second(generator, frames, args.batch_size, device)
        baseline = baseline or rate
        print(f"| {label} | {count_parameters(generator):,} | {macs / 1e9:.2f} | {rate:.2f} | {rate / baseline:.2f}x |")


if __name__ == "__main__":
    main()
