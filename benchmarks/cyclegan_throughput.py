"""Training throughput of the CycleGAN trainer per backend and process count.

Runs one epoch of `python -m cg2real launch ... train-cyclegan` (the rule's own command: real data
loading, gradient averaging, checkpoint) on generated crops, and prints the images/s it logged.
On the CPU use a small model (`--ngf 16 --size 64`); the full model (`--ngf 64 --size 256`) is for
the GPU.

    python benchmarks/cyclegan_throughput.py [--size 64] [--ngf 16] [--images 64] [--device cpu]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import yaml

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
SETUPS = (("none", 1), ("torch", 1), ("torch", 2), ("horovod", 2))


def write_crops(folder: Path, count: int, size: int, seed: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:04d}.png"), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def run_epoch(backend: str, nproc: int, crops: Path, settings: dict, device: str, out: Path) -> float | None:
    command = [sys.executable, "-m", "cg2real", "launch", "--backend", backend, "--nproc", str(nproc), "--",
               "train-cyclegan", "--crops-a", str(crops / "a"), "--crops-b", str(crops / "b"), "--out", str(out),
               "--settings", json.dumps(settings), "--backend", backend, "--device", device]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"{backend} x{nproc}: failed ({done.stderr.strip().splitlines()[-1] if done.stderr else '?'})")
        return None
    with (out / "metrics.csv").open() as handle:
        return float(next(csv.DictReader(handle))["images_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--ngf", type=int, default=16)
    parser.add_argument("--generator", default="resnet_6blocks")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    settings = {**yaml.safe_load(CONFIG.read_text())["cyclegan"]["defaults"],
                "generator": args.generator, "ngf": args.ngf, "ndf": args.ngf, "load_size": args.size,
                "crop_size": args.size, "n_epochs": 1, "n_epochs_decay": 0, "scale": 1.0, "num_workers": 0}
    with tempfile.TemporaryDirectory() as tmp:
        crops = Path(tmp) / "crops"
        write_crops(crops / "a", args.images, args.size, 0)
        write_crops(crops / "b", args.images, args.size, 1)
        print(f"{args.generator} ngf {args.ngf}, {args.size}x{args.size}, batch 1 per process, "
              f"{args.images} images per epoch, device {args.device}")
        print("| backend | processes | images/s | vs 1 process |")
        print("| --- | --- | --- | --- |")
        baseline = None
        for backend, nproc in SETUPS:
            rate = run_epoch(backend, nproc, crops, settings, args.device, Path(tmp) / f"{backend}{nproc}")
            if rate is None:
                continue
            baseline = baseline or rate
            print(f"| {backend} | {nproc} | {rate:.2f} | {rate / baseline:.2f}x |")


if __name__ == "__main__":
    main()
