"""FID of a CycleGAN run's CG->real generator per saved epoch, and the FID-vs-epoch plot (paper 000, fig. 6).

For one run folder: the real crops (CycleGAN domain B) against the CG crops (domain A) translated by
each per-epoch generator (`generators/G_cg2real_epoch_XXXX.pt`, see `save_generator_every`) and by
the final `G_cg2real.pt`. The real crops' Inception statistics are computed once per call.

CSV columns, one row per generator in epoch order, the final generator last:
  epoch              epochs trained behind the generator (the final one: `epochs` of model.json)
  generator          its file name (G_cg2real_epoch_0004.pt ... G_cg2real.pt)
  fid                the FID; empty when not computed, never a stand-in number
  real_images        real crops behind the statistics (FID is biased by sample size)
  translated_images  CG crops translated
  status             "computed", or "not computed: Inception weights missing at <path>"
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from cg2real.cyclegan.run import GENERATOR_CG2REAL, RunPaths, read_model_card  # noqa: E402
from cg2real.errors import DataError  # noqa: E402
from cg2real.images import read_rgb, require_images  # noqa: E402
from cg2real.metrics.fid import feature_statistics, frechet_distance, psd_sqrt  # noqa: E402
from cg2real.metrics.inception import (  # noqa: E402
    inception_features,
    load_fid_inception,
    missing_weights_message,
    same_size_batches,
)
from cg2real.translate.translate import load_generator, translate_images  # noqa: E402

log = logging.getLogger(__name__)

FIELDS = ("epoch", "generator", "fid", "real_images", "translated_images", "status")
COMPUTED = "computed"
FINAL_GENERATOR = GENERATOR_CG2REAL
NOT_COMPUTED_TEXT = "FID not computed: Inception weights missing"


def run_generators(run_dir: Path) -> list[tuple[int, Path]]:
    """(epochs trained, file) of every per-epoch generator in epoch order, then of the final one."""
    paths = RunPaths(run_dir)
    if not paths.model_card.is_file():
        raise DataError(f"model card not found: {paths.model_card} (train the CycleGAN run first)")
    final_epoch = read_model_card(paths.model_card).epochs
    if final_epoch is None:
        raise DataError(f"model card {paths.model_card} lacks key(s): 'epochs' (not a CycleGAN run's card)")
    snapshots = paths.saved_generator_snapshots()
    return [(int(p.stem.rsplit("_", 1)[1]), p) for p in snapshots] + [(final_epoch, paths.generator_cg2real)]


def _read(files: Iterable[Path]) -> Iterator[np.ndarray]:
    return (read_rgb(path) for path in files)


def translated_crops(
    generator: torch.nn.Module, files: list[Path], batch_size: int, device: torch.device
) -> Iterator[np.ndarray]:
    """CG crops through the generator, batch by batch, so a large set never sits in memory at once."""
    for batch in same_size_batches(_read(files), batch_size):
        yield from translate_images(generator, batch, device)


def _row(epoch: int, generator: Path, status: str, fid: float | None = None, real_images: int | None = None,
         translated_images: int | None = None) -> dict:
    """A CSV row; the csv module writes None as an empty cell."""
    return {"epoch": epoch, "generator": generator.name, "fid": fid, "real_images": real_images,
            "translated_images": translated_images, "status": status}


class TranslatedFid:
    """FID of the real crops vs the CG crops translated by one generator after another.

    The real crops' Inception statistics (and their covariance's square root) are computed once,
    when this is made, and serve every generator measured: a run's epochs here, a compaction's
    prune steps in `compact_fid`.
    """

    def __init__(self, model: torch.nn.Module, real_crops: Path, cg_crops: Path, batch_size: int,
                 device: torch.device) -> None:
        real_files = require_images(real_crops, "PNG/JPG images")
        self.cg_files = require_images(cg_crops, "PNG/JPG images")
        self.model, self.batch_size, self.device = model, batch_size, device
        self.real_images, self.translated_images = len(real_files), len(self.cg_files)
        real_features = inception_features(model, _read(real_files), batch_size, device, "inception: real crops",
                                           len(real_files))
        self.real_statistics = feature_statistics(real_features)
        self.real_root = psd_sqrt(self.real_statistics[1])

    def of(self, weights: Path, model_card: Path) -> float:
        """The FID of the generator `weights` (a CycleGAN run's or a compact one, as `model_card` says)."""
        generator = load_generator(weights, model_card, self.device)
        translated = translated_crops(generator, self.cg_files, self.batch_size, self.device)
        features = inception_features(self.model, translated, self.batch_size, self.device,
                                      f"inception: {weights.parent.name}/{weights.name}", len(self.cg_files))
        return frechet_distance(*self.real_statistics, *feature_statistics(features), root1=self.real_root)


def fid_curve_rows(
    run_dir: Path, real_crops: Path, cg_crops: Path, model: torch.nn.Module, batch_size: int, device: torch.device
) -> list[dict]:
    """One computed row per generator of the run (see the module docstring for the columns)."""
    fid_of = TranslatedFid(model, real_crops, cg_crops, batch_size, device)
    model_card = RunPaths(run_dir).model_card
    rows = []
    for epoch, weights in run_generators(run_dir):
        fid = fid_of.of(weights, model_card)
        rows.append(_row(epoch, weights, COMPUTED, fid, fid_of.real_images, fid_of.translated_images))
        log.info("%s (epoch %d): FID %.2f", weights.name, epoch, fid)
    return rows


def not_computed_status(weights: Path) -> str:
    """The status of a row whose FID is empty because the Inception weights file is missing."""
    return f"not computed: Inception weights missing at {weights}"


def not_computed_rows(run_dir: Path, weights: Path) -> list[dict]:
    """The rows FID would fill, each saying why it is empty."""
    return [_row(epoch, path, not_computed_status(weights)) for epoch, path in run_generators(run_dir)]


def write_fid_rows(
    out: Path, fields: tuple[str, ...], weights: Path, device: torch.device, require_weights: bool,
    computed: Callable[[torch.nn.Module], list[dict]], not_computed: Callable[[], list[dict]],
) -> list[dict]:
    """Write a FID CSV with the rows `computed(Inception network)` makes, and return them.

    Without the Inception weights file: a DataError naming it when `require_weights`, else (report
    mode, so a demo without the file still completes) the rows of `not_computed()` and a warning.
    """
    if weights.is_file() or require_weights:
        rows = computed(load_fid_inception(weights, device))
    else:
        log.warning("%s; %s marks FID as not computed", missing_weights_message(weights), out)
        rows = not_computed()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def write_fid_curve(
    run_dir: Path, real_crops: Path, cg_crops: Path, weights: Path, out: Path, batch_size: int,
    device: torch.device, require_weights: bool = False,
) -> list[dict]:
    """Write a run's FID CSV and return its rows (without the weights file: see `write_fid_rows`)."""
    return write_fid_rows(
        out, FIELDS, weights, device, require_weights,
        lambda model: fid_curve_rows(run_dir, real_crops, cg_crops, model, batch_size, device),
        lambda: not_computed_rows(run_dir, weights))


def read_fid_curve(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def plot_fid_curves(curves: dict[str, Path], out: Path) -> list[str]:
    """FID vs epoch, one line per run (name -> CSV); the final generator is a star at its epoch.

    Runs without numbers are named in the title (and returned); with none at all the figure says
    FID was not computed, so the report still has its figure and never an invented curve.
    """
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    not_computed = []
    for name, path in curves.items():
        rows = [row for row in read_fid_curve(path) if row["fid"]]
        if not rows:
            not_computed.append(name)
            continue
        snapshots = [row for row in rows if row["generator"] != FINAL_GENERATOR]
        (line,) = ax.plot([int(r["epoch"]) for r in snapshots], [float(r["fid"]) for r in snapshots],
                          marker="o", markersize=3, label=name)
        finals = [row for row in rows if row["generator"] == FINAL_GENERATOR]
        ax.plot([int(r["epoch"]) for r in finals], [float(r["fid"]) for r in finals], marker="*", markersize=10,
                linestyle="none", color=line.get_color())
    if len(not_computed) == len(curves):
        ax.text(0.5, 0.5, NOT_COMPUTED_TEXT, ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        ax.legend(title="run (star: final generator)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("FID, real vs translated crops (lower is better)")
    ax.set_title("FID per epoch" + (f" (not computed: {', '.join(not_computed)})" if not_computed else ""))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return not_computed
