"""Subcommands of the report stage (rules/report.smk): result files in, tables and figures out."""

from __future__ import annotations

import argparse
from pathlib import Path

from cg2real.cli import command


def _table2(args: argparse.Namespace) -> None:
    from cg2real.report.table2 import write_table2

    write_table2(args.rows, args.csv, args.markdown, args.with_paper, args.coco)


def _table2_row(args: argparse.Namespace) -> None:
    from cg2real.report.table2 import aggregate_row

    aggregate_row(args.condition, args.replicates, args.detections, args.coco, args.out)


def _augment_study(args: argparse.Namespace) -> None:
    from cg2real.report.augment_study import study_runs_from_json, write_augment_study

    write_augment_study(study_runs_from_json(args.manifest), args.out)


def _plot_scalability(args: argparse.Namespace) -> None:
    from cg2real.report.figures import plot_scalability
    from cg2real.report.scalability import scalability_rows, write_scalability_table

    rows = scalability_rows(dict(zip(args.runs, args.metrics, strict=True)), args.with_paper)
    write_scalability_table(rows, args.csv, args.markdown)
    plot_scalability(rows, args.out)


def _sample_grid(args: argparse.Namespace) -> None:
    from cg2real.report.figures import sample_grid

    sample_grid(args.real, args.cg, dict(zip(args.runs, args.translated, strict=True)), args.out, args.count)


def register(sub: argparse._SubParsersAction) -> None:
    table = command(sub, "table2", _table2, "gather the condition rows into Table 2 (CSV and Markdown)")
    table.add_argument("--rows", type=Path, nargs="+", required=True, help="row JSON files, in table order")
    table.add_argument("--csv", type=Path, required=True)
    table.add_argument("--markdown", type=Path, required=True)
    table.add_argument("--with-paper", action="store_true", help="add the paper's rows a-g beside ours")
    table.add_argument("--coco", type=Path, default=None,
                       help="COCO ground truth of the validation set (paired bootstrap against rows a and b)")

    agg = command(sub, "table2-row", _table2_row,
                  "a condition's Table 2 row from its replicates: means, t- and bootstrap intervals")
    agg.add_argument("--condition", required=True, help="name of the Table 2 condition")
    agg.add_argument("--replicates", type=Path, nargs="+", required=True, help="replicate row JSON files, r0 first")
    agg.add_argument("--detections", type=Path, nargs="+", required=True, help="their cached COCO detections")
    agg.add_argument("--coco", type=Path, required=True, help="COCO ground truth of the validation set")
    agg.add_argument("--out", type=Path, required=True, help="the condition's row JSON")

    study = command(sub, "augment-study", _augment_study,
                    "table of CycleGAN runs by augmentation: final FID, IS, detector mAP@0.5 (papers 003, 002)")
    study.add_argument("--manifest", required=True,
                       help='JSON list, one entry per run in table order: {"run": NAME, "fid": CSV, "is": JSON, '
                            '"settings": {the run\'s CycleGAN settings}, "row": Table 2 row JSON or null}')
    study.add_argument("--out", type=Path, required=True, help="Markdown (augment_study.md)")

    scal = command(sub, "plot-scalability", _plot_scalability,
                   "CycleGAN speed-up against process count (figure 4) and the efficiency table")
    scal.add_argument("--runs", nargs="+", required=True, help="run names (runs of the same training)")
    scal.add_argument("--metrics", type=Path, nargs="+", required=True, help="their metrics.csv, same order")
    scal.add_argument("--out", type=Path, required=True, help="PNG")
    scal.add_argument("--csv", type=Path, required=True, help="efficiency table, CSV")
    scal.add_argument("--markdown", type=Path, required=True, help="efficiency table, Markdown")
    scal.add_argument("--with-paper", action="store_true", help="add paper 000's points and rows")

    grid = command(sub, "sample-grid", _sample_grid,
                   "frames side by side: real, CG, and that CG frame translated by each run")
    grid.add_argument("--real", type=Path, required=True, help="YOLO set of real frames")
    grid.add_argument("--cg", type=Path, required=True, help="YOLO set of CG frames")
    grid.add_argument("--runs", nargs="*", default=[], help="run names")
    grid.add_argument("--translated", type=Path, nargs="*", default=[], help="their translated YOLO sets, same order")
    grid.add_argument("--count", type=int, default=4, help="rows")
    grid.add_argument("--out", type=Path, required=True, help="PNG")
