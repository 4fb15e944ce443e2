"""Subcommands of the report stage (rules/report.smk): result files in, tables and figures out."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cg2real.cli import command


def _table2(args: argparse.Namespace) -> None:
    from cg2real.report.html import write_html_table
    from cg2real.report.table2 import COLUMNS, ground_truth_note, write_table2

    rows = write_table2(args.rows, args.csv, args.markdown, args.with_paper, args.coco)
    if args.html:
        note = ground_truth_note([json.loads(path.read_text()) for path in args.rows])
        write_html_table(args.html, "Table 2", COLUMNS, rows, note)


def _table2_row(args: argparse.Namespace) -> None:
    from cg2real.report.table2 import aggregate_row

    aggregate_row(args.condition, args.replicates, args.detections, args.coco, args.out)


def _table2_attributes(args: argparse.Namespace) -> None:
    from cg2real.report.attributes import COLUMNS, NOTE, TITLE, write_attribute_table
    from cg2real.report.html import write_html_table

    rows = write_attribute_table(args.rows, args.coco, args.manifest, args.csv, args.markdown)
    if args.html:
        write_html_table(args.html, TITLE, COLUMNS, rows, NOTE)


def _augment_study(args: argparse.Namespace) -> None:
    from cg2real.report.augment_study import COLUMNS, NOTE, TITLE, study_runs_from_json, write_augment_study
    from cg2real.report.html import write_html_table

    rows = write_augment_study(study_runs_from_json(args.manifest), args.out)
    if args.html:
        write_html_table(args.html, TITLE, COLUMNS, rows, NOTE)


def _plot_scalability(args: argparse.Namespace) -> None:
    from cg2real.report.figures import plot_scalability
    from cg2real.report.html import write_html_table
    from cg2real.report.scalability import HEADER, NOTE, TITLE, scalability_rows, table_cells, write_scalability_table

    rows = scalability_rows(dict(zip(args.runs, args.metrics, strict=True)), args.with_paper)
    write_scalability_table(rows, args.csv, args.markdown)
    if args.html:
        write_html_table(args.html, TITLE, HEADER, [table_cells(row) for row in rows], NOTE)
    plot_scalability(rows, args.out)


def _sample_grid(args: argparse.Namespace) -> None:
    from cg2real.report.figures import sample_grid

    sample_grid(args.real, args.cg, dict(zip(args.runs, args.translated, strict=True)), args.out, args.count)


def _cyclegan_progress(args: argparse.Namespace) -> None:
    from cg2real.report.training import plot_losses, plot_samples

    plot_losses(args.metrics, args.losses, args.name)
    plot_samples(args.samples, args.sample_grid, args.name)


def _detector_plots(args: argparse.Namespace) -> None:
    from cg2real.report.detector_plots import gather_detector_plots

    gather_detector_plots(dict(zip(args.trainings, args.runs, strict=True)), args.out)


def register(sub: argparse._SubParsersAction) -> None:
    table = command(sub, "table2", _table2, "gather the condition rows into Table 2 (CSV and Markdown)")
    table.add_argument("--rows", type=Path, nargs="+", required=True, help="row JSON files, in table order")
    table.add_argument("--csv", type=Path, required=True)
    table.add_argument("--markdown", type=Path, required=True)
    table.add_argument("--html", type=Path, default=None, help="the table as HTML too (Snakemake's report shows it)")
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

    attrs = command(sub, "table2-attributes", _table2_attributes,
                    "Table 2 by frame attribute (time of day, weather): mAP@0.5 per group with intervals")
    attrs.add_argument("--rows", type=Path, nargs="+", required=True, help="condition row JSON files, in table order")
    attrs.add_argument("--coco", type=Path, required=True, help="COCO ground truth of the validation set")
    attrs.add_argument("--manifest", type=Path, required=True, help="the validation set's manifest (frame attributes)")
    attrs.add_argument("--csv", type=Path, required=True)
    attrs.add_argument("--markdown", type=Path, required=True)
    attrs.add_argument("--html", type=Path, default=None, help="also an HTML twin (Snakemake's report)")

    study = command(sub, "augment-study", _augment_study,
                    "table of CycleGAN runs by augmentation: final FID, IS, detector mAP@0.5 (papers 003, 002)")
    study.add_argument("--manifest", required=True,
                       help='JSON list, one entry per run in table order: {"run": NAME, "fid": CSV, "is": JSON, '
                            '"settings": {the run\'s CycleGAN settings}, "row": Table 2 row JSON or null}')
    study.add_argument("--out", type=Path, required=True, help="Markdown (augment_study.md)")
    study.add_argument("--html", type=Path, default=None, help="the table as HTML too (Snakemake's report shows it)")

    scal = command(sub, "plot-scalability", _plot_scalability,
                   "CycleGAN speed-up against process count (figure 4) and the efficiency table")
    scal.add_argument("--runs", nargs="+", required=True, help="run names (runs of the same training)")
    scal.add_argument("--metrics", type=Path, nargs="+", required=True, help="their metrics.csv, same order")
    scal.add_argument("--out", type=Path, required=True, help="PNG")
    scal.add_argument("--csv", type=Path, required=True, help="efficiency table, CSV")
    scal.add_argument("--markdown", type=Path, required=True, help="efficiency table, Markdown")
    scal.add_argument("--html", type=Path, default=None, help="efficiency table, HTML (Snakemake's report shows it)")
    scal.add_argument("--with-paper", action="store_true", help="add paper 000's points and rows")

    grid = command(sub, "sample-grid", _sample_grid,
                   "frames side by side: real, CG, and that CG frame translated by each run")
    grid.add_argument("--real", type=Path, required=True, help="YOLO set of real frames")
    grid.add_argument("--cg", type=Path, required=True, help="YOLO set of CG frames")
    grid.add_argument("--runs", nargs="*", default=[], help="run names")
    grid.add_argument("--translated", type=Path, nargs="*", default=[], help="their translated YOLO sets, same order")
    grid.add_argument("--count", type=int, default=4, help="rows")
    grid.add_argument("--out", type=Path, required=True, help="PNG")

    progress = command(sub, "cyclegan-progress", _cyclegan_progress,
                       "a CycleGAN run's losses per epoch and its first and newest sample grids (works mid-training)")
    progress.add_argument("--name", required=True, help="the run's name (figure titles)")
    progress.add_argument("--metrics", type=Path, required=True, help="the run's metrics.csv")
    progress.add_argument("--samples", type=Path, required=True, help="the run's samples folder")
    progress.add_argument("--losses", type=Path, required=True, help="loss plot, PNG")
    progress.add_argument("--sample-grid", type=Path, required=True, help="sample grids, PNG")

    plots = command(sub, "detector-plots", _detector_plots,
                    "copy ultralytics' own plots of each detector training where the report finds them")
    plots.add_argument("--trainings", nargs="+", required=True, help="training names, e.g. c/r0 (sub-folders of --out)")
    plots.add_argument("--runs", type=Path, nargs="+", required=True, help="their ultralytics run folders, same order")
    plots.add_argument("--out", type=Path, required=True, help="folder of the copies")
