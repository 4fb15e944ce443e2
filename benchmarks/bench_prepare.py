"""Throughput of the data stage's per-frame work (filter + crop) on full-size BDD100K-like frames.

Generates (once, cached) a demo real-like set of 1280x720 JPEG frames, then times `select-bdd100k`
(read labels, decode every image, filter) and `crop` for 1 and 2 workers and prints a table.

    python benchmarks/bench_prepare.py [--frames 2000] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from cg2real.data.bdd100k import BDD100KSettings
from cg2real.data.crop import CropSettings
from cg2real.data.demo import DemoSettings, make_demo_datasets
from cg2real.data.prepare import select_bdd100k, write_crops
from cg2real.data.select import FilterSettings

FILTER = FilterSettings(
    min_height_fraction=0.15, min_area_fraction=0.0, exclude_occluded=False, exclude_truncated=False, box_tolerance_px=2
)
CROP = CropSettings(size=256, max_person_fraction=1.0, pad_mode="reflect", pad_value=0)


def ensure_frames(cache: Path, frames: int) -> Path:
    """A cached demo set with `frames` 1280x720 training frames (made on first use)."""
    marker = cache / "settings.json"
    settings = DemoSettings(
        seed=0, real_train_frames=frames, real_val_frames=1, real_width=1280, real_height=720,
        cg_frames=1, cg_width=64, cg_height=48, no_person_fraction=0.15,
    )
    if not (marker.exists() and json.loads(marker.read_text()) == settings.__dict__):
        shutil.rmtree(cache, ignore_errors=True)
        started = time.perf_counter()
        make_demo_datasets(cache, settings)
        print(f"generated {frames} frames in {time.perf_counter() - started:.1f} s")
        marker.write_text(json.dumps(settings.__dict__))
    return cache / "bdd100k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cache", type=Path, default=Path(".cache/bench_prepare"))
    args = parser.parse_args()
    bdd = ensure_frames(args.cache, args.frames)
    labels = bdd / "labels/bdd100k_labels_images_train.json"
    images = bdd / "images/100k/train"

    print(f"\ncpu cores: {os.cpu_count()}; frames: {args.frames} at 1280x720; crop {CROP.size}")
    print("| workers | filter s | filter img/s | crop s (kept) | crop img/s | total img/s | img/s per worker |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            manifest = Path(tmp) / "manifest.csv"
            started = time.perf_counter()
            select_bdd100k(labels, images, BDD100KSettings(("person",)), FILTER, manifest, workers)
            filtered = time.perf_counter()
            write_crops(manifest, Path(tmp) / "crops", CROP, workers)
            cropped = time.perf_counter()
            kept = len(list((Path(tmp) / "crops").glob("*.png")))
        t_filter, t_crop = filtered - started, cropped - filtered
        total = args.frames / (t_filter + t_crop)
        print(
            f"| {workers} | {t_filter:.1f} | {args.frames / t_filter:.0f} | {t_crop:.1f} ({kept}) | "
            f"{kept / t_crop:.0f} | {total:.0f} | {total / workers:.0f} |"
        )


if __name__ == "__main__":
    main()
