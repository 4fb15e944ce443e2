"""FID of a compaction's generator per prune step (paper 001), beside its size: what each cut cost.

The compact stage keeps the generator of every step it did not roll back in
`compact/{run}/steps/step_<k>/` and lists all steps in its `report.csv`; it may not import this
package, so the FID per step is measured here, the way `fid_curve` measures a run's epochs (the
real crops' statistics once, the same translation). The run's own generator, before the
sparsity fine-tuning, comes first as the reference.

CSV columns, one row per generator: the run's first, then every kept step in step order:
  step               prune step (0: fine-tuned with the penalty, nothing cut yet); empty for the run's
  generator          "original" (the run's G_cg2real.pt) or the step's folder name (step_003)
  params, macs       its size, from the compaction's report (the run's: its summary's "original")
  latency_ms         its 1-thread CPU latency, likewise
  fid                the FID; empty when not computed, never a stand-in number
  real_images        real crops behind the statistics
  translated_images  CG crops translated
  status             "computed", or "not computed: Inception weights missing at <path>"
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from cg2real.compact.paths import CARD, REPORT, SUMMARY, WEIGHTS, step_folder
from cg2real.cyclegan.run import RunPaths
from cg2real.errors import DataError
from cg2real.metrics.fid_curve import COMPUTED, TranslatedFid, not_computed_status, write_fid_rows

log = logging.getLogger(__name__)

FIELDS = ("step", "generator", "params", "macs", "latency_ms", "fid", "real_images", "translated_images", "status")
ORIGINAL = "original"
COST_KEYS = ("params", "macs", "latency_ms")


@dataclass(frozen=True)
class MeasuredGenerator:
    """A generator whose FID the CSV reports: where it is and what the compaction measured of it."""

    step: int | None  # None: the run's own generator
    name: str
    weights: Path
    model_card: Path
    cost: dict[str, str]


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"compaction report not found: {path} (run compact-generator first)")
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def kept_steps(compact_dir: Path) -> list[MeasuredGenerator]:
    """Every step of the compaction's report that was not rolled back, in step order, with its folder."""
    steps = []
    for row in _read_csv(compact_dir / REPORT):
        if row["rolled_back"] == "True":  # its generator was discarded, never saved
            continue
        folder = step_folder(compact_dir, int(row["step"]))
        if not (folder / WEIGHTS).is_file():
            raise DataError(f"{folder / WEIGHTS} not found: step {row['step']} of {compact_dir / REPORT} was kept "
                            "but not saved (a compaction from before steps/ was written: run compact-generator again)")
        steps.append(MeasuredGenerator(int(row["step"]), folder.name, folder / WEIGHTS, folder / CARD,
                                       {key: row[key] for key in COST_KEYS}))
    return steps


def original_generator(compact_dir: Path, run_dir: Path) -> MeasuredGenerator:
    """The run's generator as trained, with the size the compaction's summary measured of it."""
    summary = compact_dir / SUMMARY
    if not summary.is_file():
        raise DataError(f"compaction summary not found: {summary} (run compact-generator first)")
    original = json.loads(summary.read_text())["original"]
    paths = RunPaths(run_dir)
    return MeasuredGenerator(None, ORIGINAL, paths.generator_cg2real, paths.model_card,
                             {key: original[key] for key in COST_KEYS})


def compaction_generators(compact_dir: Path, run_dir: Path) -> list[MeasuredGenerator]:
    """The CSV's generators in its row order: the run's, then every kept step."""
    return [original_generator(compact_dir, run_dir), *kept_steps(compact_dir)]


def _row(generator: MeasuredGenerator, status: str, fid: float | None = None, real_images: int | None = None,
         translated_images: int | None = None) -> dict:
    """A CSV row; the csv module writes None as an empty cell."""
    return {"step": generator.step, "generator": generator.name, **generator.cost, "fid": fid,
            "real_images": real_images, "translated_images": translated_images, "status": status}


def compact_fid_rows(generators: list[MeasuredGenerator], real_crops: Path, cg_crops: Path, model: torch.nn.Module,
                     batch_size: int, device: torch.device) -> list[dict]:
    """One computed row per generator (see the module docstring for the columns)."""
    fid_of = TranslatedFid(model, real_crops, cg_crops, batch_size, device)
    rows = []
    for generator in generators:
        fid = fid_of.of(generator.weights, generator.model_card)
        rows.append(_row(generator, COMPUTED, fid, fid_of.real_images, fid_of.translated_images))
        log.info("%s (MACs %s): FID %.2f", generator.name, generator.cost["macs"], fid)
    return rows


def write_compact_fid(
    compact_dir: Path, run_dir: Path, real_crops: Path, cg_crops: Path, weights: Path, out: Path, batch_size: int,
    device: torch.device, require_weights: bool = False,
) -> list[dict]:
    """Write the compaction's FID-per-step CSV and return its rows (without the weights file: see
    `fid_curve.write_fid_rows`)."""
    generators = compaction_generators(compact_dir, run_dir)
    return write_fid_rows(
        out, FIELDS, weights, device, require_weights,
        lambda model: compact_fid_rows(generators, real_crops, cg_crops, model, batch_size, device),
        lambda: [_row(generator, not_computed_status(weights)) for generator in generators])
