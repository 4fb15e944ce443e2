"""How a CycleGAN training went, from the files its run folder gains after every epoch: the losses
per epoch (`metrics.csv`) and the sample grids (`samples/*.png`, one per epoch).

The report reads files only (it never imports the trainer), so the loss names below are those of
the CSV's header: G_X the adversarial loss of generator G_X, D_X its discriminator's, cycle_X and
idt_X the cycle-consistency and identity losses, with X = A for the CG -> real direction and B for
real -> CG (the reference CycleGAN's names). A panel whose columns the CSV lacks is left out. Both
figures can be made by hand while a training runs: the files are rewritten after every epoch.
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)

from cg2real.errors import DataError  # noqa: E402
from cg2real.images import read_rgb  # noqa: E402

# panel title -> the metrics.csv columns drawn in it (A: CG -> real, B: real -> CG)
LOSS_PANELS = {
    "generators, adversarial": ("G_A", "G_B"),
    "discriminators": ("D_A", "D_B"),
    "cycle consistency": ("cycle_A", "cycle_B"),
    "identity": ("idt_A", "idt_B"),
}

MIN_WIDTH_PX = 480  # of a sample grid in the figure


def read_losses(metrics_csv: Path) -> dict[str, list[float]]:
    """The epoch column and every loss column of LOSS_PANELS the file has, as numbers."""
    if not metrics_csv.is_file():
        raise DataError(f"metrics file not found: {metrics_csv}")
    with metrics_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "epoch" not in rows[0]:
        raise DataError(f"{metrics_csv} has no epochs yet")
    wanted = ["epoch", *(name for names in LOSS_PANELS.values() for name in names if name in rows[0])]
    try:
        return {name: [float(row[name]) for row in rows] for name in wanted}
    except ValueError as err:
        raise DataError(f"{metrics_csv}: a loss is not a number ({err})") from err


def plot_losses(metrics_csv: Path, out: Path, run: str) -> None:
    """One panel per kind of loss, both directions in each, against the epoch."""
    losses = read_losses(metrics_csv)
    panels = {title: [n for n in names if n in losses] for title, names in LOSS_PANELS.items()}
    panels = {title: names for title, names in panels.items() if names}
    if not panels:
        raise DataError(f"{metrics_csv} has none of the loss columns {sorted(sum(LOSS_PANELS.values(), ()))}")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3), dpi=100, squeeze=False)
    for ax, (title, names) in zip(axes[0], panels.items(), strict=True):
        for name in names:
            ax.plot(losses["epoch"], losses[name], "o-", markersize=3, label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("mean loss over the epoch")
    fig.suptitle(f"CycleGAN run {run}: losses per epoch (A: CG -> real, B: real -> CG)", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def progress_samples(samples: Path) -> list[Path]:
    """The first and the newest sample grid (file names sort in epoch order), or the only one."""
    grids = sorted(samples.glob("*.png"))
    if not grids:
        raise DataError(f"no sample grids in {samples}")
    return [grids[0]] if len(grids) == 1 else [grids[0], grids[-1]]


def plot_samples(samples: Path, out: Path, run: str) -> None:
    """The trainer's sample grids of the first and the newest epoch, one above the other, each
    titled with its file name: how far the translations came."""
    grids = progress_samples(samples)
    images = [read_rgb(path) for path in grids]
    scale = max(1.0, MIN_WIDTH_PX / max(image.shape[1] for image in images))  # small crops drawn larger
    width = scale * max(image.shape[1] for image in images) / 100
    heights = [scale * image.shape[0] / 100 + 0.4 for image in images]
    fig, axes = plt.subplots(len(images), 1, figsize=(width, sum(heights)), dpi=100, squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, path, image in zip(axes[:, 0], grids, images, strict=True):
        ax.imshow(image)
        ax.set_title(f"{run}: {path.stem}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
