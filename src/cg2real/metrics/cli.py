"""Subcommands of the metrics stage (rules/metrics.smk): FID per saved generator, its plot, FID per
compaction step, and IS."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cg2real.cli import add_settings, command
from cg2real.errors import DataError
from cg2real.settings import settings_from_json

log = logging.getLogger(__name__)


def _fid_curve(args: argparse.Namespace) -> None:
    from cg2real.cyclegan.distributed import pick_device
    from cg2real.metrics.fid_curve import write_fid_curve
    from cg2real.metrics.inception import MetricsSettings

    settings = settings_from_json(MetricsSettings, args.settings, "metrics")
    write_fid_curve(args.run_dir, args.real_crops, args.cg_crops, settings.weights_path, args.out,
                    settings.batch_size, pick_device(settings.device, 0), settings.require_weights)


def _compact_fid(args: argparse.Namespace) -> None:
    from cg2real.cyclegan.distributed import pick_device
    from cg2real.metrics.compact_fid import write_compact_fid
    from cg2real.metrics.inception import MetricsSettings

    settings = settings_from_json(MetricsSettings, args.settings, "metrics")
    write_compact_fid(args.compact_dir, args.run_dir, args.real_crops, args.cg_crops, settings.weights_path, args.out,
                      settings.batch_size, pick_device(settings.device, 0), settings.require_weights)


def _inception_score(args: argparse.Namespace) -> None:
    from cg2real.cyclegan.distributed import pick_device
    from cg2real.metrics.inception import MetricsSettings
    from cg2real.metrics.inception_score import write_inception_score

    settings = settings_from_json(MetricsSettings, args.settings, "metrics")
    write_inception_score(args.run_dir, args.cg_crops, settings.weights_path, args.out, settings.batch_size,
                          pick_device(settings.device, 0), settings.is_splits, settings.require_weights)


def _named_csv(text: str) -> tuple[str, Path]:
    name, separator, path = text.partition("=")
    if not (name and separator and path):
        raise argparse.ArgumentTypeError(f"expected RUN=CSV, got {text!r}")
    return name, Path(path)


def _plot_fid(args: argparse.Namespace) -> None:
    from cg2real.metrics.fid_curve import plot_fid_curves

    curves = dict(args.csv)
    if len(curves) != len(args.csv):
        raise DataError(f"run names given twice in --csv: {' '.join(name for name, _ in args.csv)}")
    not_computed = plot_fid_curves(curves, args.out)
    if not_computed:
        log.warning("FID not computed for %s (Inception weights missing); %s says so",
                    ", ".join(not_computed), args.out)


def register(sub: argparse._SubParsersAction) -> None:
    fid = command(sub, "fid-curve", _fid_curve,
                  "FID of real crops vs CG crops translated by each saved generator of a run (CSV)")
    fid.add_argument("--run-dir", type=Path, required=True, help="CycleGAN run folder (generators/, G_cg2real.pt)")
    fid.add_argument("--real-crops", type=Path, required=True, help="real crop folder (domain B)")
    fid.add_argument("--cg-crops", type=Path, required=True, help="CG crop folder (domain A), translated per generator")
    add_settings(fid, "metrics")
    fid.add_argument("--out", type=Path, required=True, help="CSV: epoch, generator, fid, ..., status")

    steps = command(sub, "compact-fid", _compact_fid,
                    "FID of the run's generator and of its compact one after each prune step (CSV; paper 001)")
    steps.add_argument("--compact-dir", type=Path, required=True,
                       help="compact-generator output folder (report.csv, summary.json, steps/)")
    steps.add_argument("--run-dir", type=Path, required=True, help="the CycleGAN run folder it was pruned from")
    steps.add_argument("--real-crops", type=Path, required=True, help="real crop folder (domain B)")
    steps.add_argument("--cg-crops", type=Path, required=True, help="CG crop folder (domain A), translated per step")
    add_settings(steps, "metrics")
    steps.add_argument("--out", type=Path, required=True, help="CSV: step, generator, params, macs, ..., fid, status")

    score = command(sub, "inception-score", _inception_score,
                    "Inception Score of the CG crops translated by a run's final generator (JSON; paper 002's metric)")
    score.add_argument("--run-dir", type=Path, required=True, help="CycleGAN run folder (G_cg2real.pt, model.json)")
    score.add_argument("--cg-crops", type=Path, required=True, help="CG crop folder (domain A), translated")
    add_settings(score, "metrics")
    score.add_argument("--out", type=Path, required=True, help="JSON: is_mean, is_std, status, ...")

    plot = command(sub, "plot-fid", _plot_fid, "plot FID vs epoch, one line per run (paper 000, figure 6)")
    plot.add_argument("--csv", type=_named_csv, nargs="+", required=True, metavar="RUN=CSV",
                      help="a run's name and its FID CSV (from `fid-curve`), one per run")
    plot.add_argument("--out", type=Path, required=True, help="PNG")
