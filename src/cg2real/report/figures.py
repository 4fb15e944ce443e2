"""Report figures: CycleGAN scalability (paper 000 figure 4) and sample frames real / CG / translated."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)

from cg2real.cyclegan.data import read_rgb  # noqa: E402
from cg2real.detector.dataset import list_images  # noqa: E402
from cg2real.errors import DataError  # noqa: E402

# Paper 000, figure 4: CycleGAN training time for 200 epochs on ABCI, GPUs -> hours.
PAPER_TRAINING_HOURS = {4: 68.77, 512: 0.73}


def run_timing(metrics_csv: Path) -> dict:
    """Processes, total wall time and mean throughput of one CycleGAN run, from its metrics.csv."""
    with metrics_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise DataError(f"{metrics_csv} has no epochs")
    return {
        "processes": int(rows[-1]["processes"]) * int(rows[-1]["simulated_processes"]),
        "epochs": len(rows),
        "wall_s": sum(float(r["wall_s"]) for r in rows),
        "images_per_s": sum(float(r["images_per_s"]) for r in rows) / len(rows),
    }


def plot_scalability(metrics: dict[str, Path], out: Path, with_paper: bool) -> list[dict]:
    """Throughput against process count, one point per run, with ideal linear scaling from the smallest.

    Runs differ in data and epochs only if the config says so; throughput (images per second over all
    processes) is comparable across them where wall time per run is not.
    """
    timings = sorted(({"run": name, **run_timing(path)} for name, path in metrics.items()), key=lambda t: t["processes"])
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    processes = [t["processes"] for t in timings]
    ax.plot(processes, [t["images_per_s"] for t in timings], "o-", label="this workflow")
    for t in timings:
        ax.annotate(t["run"], (t["processes"], t["images_per_s"]), textcoords="offset points", xytext=(4, 4))
    base = timings[0]
    ideal = [base["images_per_s"] * p / base["processes"] for p in processes]
    ax.plot(processes, ideal, "--", color="grey", label="linear scaling")
    if with_paper:
        (p0, h0), (p1, h1) = sorted(PAPER_TRAINING_HOURS.items())
        ax.plot([p0, p1], [1.0, h0 / h1], "s:", label=f"paper 000: speed-up vs {p0} GPUs")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("processes (GPUs)")
    ax.set_ylabel("images / s (paper: relative speed)")
    ax.set_title("CycleGAN training throughput")
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return timings


def _fit_height(image: np.ndarray, height: int) -> np.ndarray:
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def sample_grid(real: Path, cg: Path, translated: dict[str, Path], out: Path, count: int, height: int = 160) -> None:
    """Rows of (real frame, CG frame, the same CG frame translated by each run), labelled.

    Real and CG frames are not pairs (the data are unpaired); the CG frame and its translations are.
    """
    real_names, cg_names = list_images(real), list_images(cg)
    if not real_names or not cg_names:
        raise DataError(f"no frames to show in {real} or {cg}")
    columns = ["real", "CG", *(f"translated ({run})" for run in translated)]
    rows = []
    for i in range(min(count, len(cg_names))):
        name = cg_names[i]
        images = [read_rgb(real / "images" / real_names[i % len(real_names)]), read_rgb(cg / "images" / name)]
        images += [read_rgb(folder / "images" / name) for folder in translated.values()]
        rows.append([_fit_height(image, height) for image in images])
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(2.6 * len(columns), 1.8 * len(rows)), dpi=100, squeeze=False)
    for r, images in enumerate(rows):
        for c, image in enumerate(images):
            axes[r][c].imshow(image)
            axes[r][c].axis("off")
            if r == 0:
                axes[r][c].set_title(columns[c], fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
