"""Throughput of the data stage's per-frame work (filter + crop) on 1280x720 JPEGs, before and after
decoding once, side by side, against the cost of decoding itself.

Generates (once, cached) a demo real-like set of 1280x720 JPEG frames and reads its labels once.
Then, in alternating blocks (each variant and worker count in turn, `--repeats` times), runs every
frame through:

- before: the stage as it was up to issue 19: the filter decodes every frame whole with PIL (to
  catch truncated files), the crop decodes each kept frame again whole with OpenCV;
- after: the stage's own per-frame functions (`prepare.decide_frame`, `prepare.crop_frame`): the
  filter checks each file's structure without decoding, the crop decodes each kept frame once, at
  1/2, 1/4 or 1/8 of its size when its crop is shrunk that much.

Both write the same PNG crops. Alongside, on one process and one thread, the decoding limits: a
full OpenCV and a full PIL decode of every frame, and a half-scale decode (PIL's draft, OpenCV's
IMREAD_REDUCED_COLOR_2). Prints medians (best) over the blocks in img/s per worker, where img/s
counts every frame of the set, kept or not, and the ratios after / before paired by block; then
where the time of "after" goes, step by step on one process (per frame of the set).

    python benchmarks/bench_prepare.py [--frames 400] [--workers 1 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
from PIL import Image

from cg2real.boxes import Frame
from cg2real.data.bdd100k import read_bdd100k
from cg2real.data.crop import (
    CropSettings,
    crop_around_largest_person,
    crop_decoded,
    crop_scale,
    decode_reduction,
    read_for_crop,
)
from cg2real.data.demo import DemoSettings, make_demo_datasets
from cg2real.data.manifest import flat_stem
from cg2real.data.prepare import crop_frame, decide_frame
from cg2real.data.select import FilterSettings, decide
from cg2real.parallel import parallel_map

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


def whole_decode_size(path: Path) -> tuple[int, int] | str:
    """The filter's file check before issue 19: a full PIL decode of every frame."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.size
    except (OSError, ValueError):
        return "unreadable_image"


def before(frame: Frame, out_dir: Path) -> bool:
    """Filter + crop of one frame as the stage did it before: two whole decodes of a kept frame."""
    row = decide(frame, whole_decode_size(frame.image_path), FILTER)
    if row.kept:
        crop, _ = crop_around_largest_person(cv2.imread(row.image_path, cv2.IMREAD_COLOR), row.largest, CROP)
        cv2.imwrite(str(out_dir / (flat_stem(row.name) + ".png")), crop)
    return row.kept


def after(frame: Frame, out_dir: Path) -> bool:
    """Filter + crop of one frame by the stage's own functions: at most one decode, reduced where it can."""
    row = decide_frame(frame, FILTER)
    if row.kept:
        crop_frame(row, out_dir, CROP)
    return row.kept


def cv2_full(frame: Frame, out_dir: Path) -> bool:
    return cv2.imread(str(frame.image_path), cv2.IMREAD_COLOR) is not None


def cv2_half(frame: Frame, out_dir: Path) -> bool:
    return cv2.imread(str(frame.image_path), cv2.IMREAD_REDUCED_COLOR_2) is not None


def pil_full(frame: Frame, out_dir: Path) -> bool:
    with Image.open(frame.image_path) as image:
        image.load()
    return True


def pil_half(frame: Frame, out_dir: Path) -> bool:
    with Image.open(frame.image_path) as image:
        image.draft("RGB", (image.width // 2, image.height // 2))
        image.load()
    return True


PIPELINES: dict[str, Callable[[Frame, Path], bool]] = {"before": before, "after": after}
LIMITS: dict[str, Callable[[Frame, Path], bool]] = {
    "OpenCV full decode": cv2_full, "PIL full decode": pil_full,
    "OpenCV half-scale decode": cv2_half, "PIL half-scale draft decode": pil_half,
}


def step_times(frames: list[Frame], out_dir: Path) -> dict[str, float]:
    """Milliseconds per frame of the set spent in each step of `after`, on this process."""
    spent = Counter()
    for frame in frames:
        started = time.perf_counter()
        row = decide_frame(frame, FILTER)
        checked = time.perf_counter()
        spent["filter: file check + decision"] += checked - started
        if not row.kept:
            continue
        image, factor = read_for_crop(Path(row.image_path), row.largest, CROP)
        decoded = time.perf_counter()
        crop, _ = crop_decoded(image, factor, row.largest, CROP)
        cropped = time.perf_counter()
        cv2.imwrite(str(out_dir / (flat_stem(row.name) + ".png")), crop)
        spent["crop: decode"] += decoded - checked
        spent["crop: resize the window + pad"] += cropped - decoded
        spent["crop: PNG encode + write"] += time.perf_counter() - cropped
    return {step: seconds / len(frames) * 1000 for step, seconds in spent.items()}


def timed(fn: Callable[[Frame, Path], bool], frames: list[Frame], workers: int, out_dir: Path) -> tuple[float, int]:
    """Frames per second per worker over the whole set, and how many frames were kept."""
    started = time.perf_counter()
    kept = parallel_map(functools.partial(fn, out_dir=out_dir), frames, workers, fn.__name__)
    return len(frames) / (time.perf_counter() - started) / workers, sum(kept)


def median_best(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ({max(values):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(".cache/bench_prepare"))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    bdd = ensure_frames(args.cache, args.frames)
    frames = read_bdd100k(bdd / "labels/bdd100k_labels_images_train.json", bdd / "images/100k/train", ("person",))
    rates: dict[tuple[str, int], list[float]] = {}  # (what, workers) -> img/s per worker, one per block
    steps: dict[str, list[float]] = {}  # step of "after" -> ms per frame, one per block
    kept_counts = set()
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp)
        for _ in range(args.repeats):
            for workers in args.workers:
                for name, fn in PIPELINES.items():
                    rate, kept = timed(fn, frames, workers, out_dir)
                    rates.setdefault((name, workers), []).append(rate)
                    kept_counts.add(kept)
            for name, fn in LIMITS.items():
                rates.setdefault((name, 1), []).append(timed(fn, frames, 1, out_dir)[0])
            for step, ms in step_times(frames, out_dir).items():
                steps.setdefault(step, []).append(ms)
    (kept,) = kept_counts  # both variants keep the same frames in every block
    rows = [decide_frame(f, FILTER) for f in frames]
    reductions = Counter(decode_reduction(crop_scale(r.largest, CROP)) for r in rows if r.kept)

    print(f"\ncpu cores: {os.cpu_count()}; {len(frames)} frames of 1280x720, {kept} kept; crop {CROP.size}, "
          f"max_person_fraction {CROP.max_person_fraction}; {args.repeats} alternating blocks, median (best)")
    shares = ", ".join(f"1/{r}: {n}" for r, n in sorted(reductions.items()))
    print(f"kept frames by decode reduction: {shares}\n")
    print("| workers | before img/s per worker | after img/s per worker | after / before (range) |")
    print("| --- | --- | --- | --- |")
    for workers in args.workers:
        old, new = rates[("before", workers)], rates[("after", workers)]
        ratios = [n / o for n, o in zip(new, old)]
        print(f"| {workers} | {median_best(old)} | {median_best(new)} | "
              f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) |")
    if len(args.workers) > 1:
        first, last = args.workers[0], args.workers[-1]
        for name in PIPELINES:
            scaling = statistics.median(rates[(name, last)]) / statistics.median(rates[(name, first)])
            print(f"\n{name}: per-worker rate at {last} workers = {scaling:.2f} x the rate at {first}", end="")
        print()
    print("\n| one process, one thread | img/s |")
    print("| --- | --- |")
    for name in LIMITS:
        print(f"| {name} | {median_best(rates[(name, 1)])} |")
    print("\n| after, one process: step | ms per frame of the set, median |")
    print("| --- | --- |")
    for step, ms in steps.items():
        print(f"| {step} | {statistics.median(ms):.2f} |")
    print(f"| total | {sum(statistics.median(ms) for ms in steps.values()):.2f} |")


if __name__ == "__main__":
    main()
