"""Report figures: CycleGAN scalability (paper 000 figure 4) and sample frames real / CG / translated."""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
from matplotlib.ticker import FormatStrFormatter  # noqa: E402

from cg2real.errors import DataError  # noqa: E402
from cg2real.images import YOLO_IMAGES, read_rgb, yolo_image_names  # noqa: E402
from cg2real.report.scalability import PAPER_SOURCE  # noqa: E402


def _speed_up_series(ax: plt.Axes, rows: list[dict], style: str, label: str) -> None:
    """One source's speed-ups, with the linear scaling it is measured against (dashed, same colour)."""
    processes = [r["processes"] for r in rows]
    (line,) = ax.plot(processes, [r["speed_up"] for r in rows], style, label=label)
    base = processes[0]
    ax.plot([base, processes[-1]], [1.0, processes[-1] / base], "--", color=line.get_color(), alpha=0.5,
            label=f"linear from {base}")


def plot_scalability(rows: list[dict], out: Path) -> None:
    """Paper 000 figure 4: speed-up against processes, ours and (if in `rows`) the paper's.

    `rows` come from `scalability.scalability_rows`; each source is relative to its own smallest
    run, so each gets its own linear-scaling line. Axes are log 2: process counts double.
    """
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ours = [r for r in rows if r["source"] != PAPER_SOURCE]
    paper = [r for r in rows if r["source"] == PAPER_SOURCE]
    _speed_up_series(ax, ours, "o-", "this workflow")
    for r in ours:
        ax.annotate(r["run"], (r["processes"], r["speed_up"]), textcoords="offset points", xytext=(4, -10))
    if paper:
        _speed_up_series(ax, paper, "s:", "paper 000 (ABCI, V100)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FormatStrFormatter("%g"))  # 512, not 2^9
    ax.set_xlabel("processes (GPUs)")
    ax.set_ylabel("speed-up over the smallest run")
    ax.set_title("CycleGAN scalability (throughput-based)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def _fit_height(image: np.ndarray, height: int) -> np.ndarray:
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def sample_grid(real: Path, cg: Path, translated: dict[str, Path], out: Path, count: int, height: int = 160) -> None:
    """Rows of (real frame, CG frame, the same CG frame translated by each run), labelled.

    Real and CG frames are not pairs (the data are unpaired); the CG frame and its translations are.
    """
    real_names, cg_names = yolo_image_names(real), yolo_image_names(cg)
    if not real_names or not cg_names:
        raise DataError(f"no frames to show in {real} or {cg}")
    columns = ["real", "CG", *(f"translated ({run})" for run in translated)]
    rows = []
    for i in range(min(count, len(cg_names))):
        name = cg_names[i]
        images = [read_rgb(real / YOLO_IMAGES / real_names[i % len(real_names)]), read_rgb(cg / YOLO_IMAGES / name)]
        images += [read_rgb(folder / YOLO_IMAGES / name) for folder in translated.values()]
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
