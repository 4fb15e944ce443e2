"""Subcommands of the data stage (rules/data.smk): demo sets, readers + filter, crops, detector sets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cg2real.cli import add_settings, command, optional_path
from cg2real.errors import DataError
from cg2real.settings import settings_from_json


def _demo_data(args: argparse.Namespace) -> None:
    from cg2real.data.demo import DemoSettings, make_demo_datasets

    make_demo_datasets(args.out, settings_from_json(DemoSettings, args.settings, "data.demo"))


def _select_bdd100k(args: argparse.Namespace) -> None:
    from cg2real.data.bdd100k import BDD100KSettings
    from cg2real.data.prepare import select_bdd100k
    from cg2real.data.select import FilterSettings

    reader = settings_from_json(BDD100KSettings, args.settings, "data.bdd100k")
    select = settings_from_json(FilterSettings, args.filter, "data.filter")
    select_bdd100k(args.labels, args.images, reader, select, args.out, args.workers, args.copy_on_failure,
                   _target_count(args))


def _select_synthia(args: argparse.Namespace) -> None:
    from cg2real.data.prepare import select_synthia
    from cg2real.data.select import FilterSettings
    from cg2real.data.synthia import SynthiaSettings

    reader = settings_from_json(SynthiaSettings, args.settings, "data.synthia")
    select = settings_from_json(FilterSettings, args.filter, "data.filter")
    select_synthia(args.root, args.box_file, reader, select, args.out, args.workers, args.copy_on_failure,
                   _target_count(args))


def _target_count(args: argparse.Namespace) -> int | None:
    """The entry of --target-counts (data.filter.target_count) for --dataset; None: use the thresholds."""
    try:
        counts = json.loads(args.target_counts)
    except json.JSONDecodeError as err:
        raise DataError(f"--target-counts is not valid JSON: {err}") from err
    if not isinstance(counts, dict):
        raise DataError(f"data.filter.target_count must be an object of counts per data set, got {counts!r}")
    count = counts.get(args.dataset) if args.dataset else None
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise DataError(f"data.filter.target_count.{args.dataset} must be a positive integer or null, got {count!r}")
    return count


def _crop_persons(args: argparse.Namespace) -> None:
    from cg2real.data.crop import CropSettings
    from cg2real.data.prepare import write_crops

    write_crops(args.manifest, args.out, settings_from_json(CropSettings, args.settings, "data.crop"), args.workers)


def _export_detector_set(args: argparse.Namespace) -> None:
    from cg2real.data.export import ExportSettings
    from cg2real.data.prepare import export_detector_set

    settings = settings_from_json(ExportSettings, args.settings, "data.export")
    export_detector_set(args.manifest, args.out, args.frames, settings, args.coco)


def _summarize_data(args: argparse.Namespace) -> None:
    from cg2real.data.manifest import read_manifest
    from cg2real.data.summary import write_summary

    write_summary(read_manifest(args.manifest), args.domain, args.json, args.plot)


def _add_selection_options(parser: argparse.ArgumentParser, reader_section: str) -> None:
    """What both readers' selection steps take besides their inputs: settings, filter, manifest."""
    add_settings(parser, reader_section)
    add_settings(parser, "data.filter", "--filter")
    parser.add_argument("--out", type=Path, required=True, help="manifest CSV")
    parser.add_argument("--copy-on-failure", type=Path, default=None,
                        help="where the manifest is also written when the filter keeps nothing (the log folder)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--dataset", default=None,
                        help="the manifest's data set (real_train, real_val, cg): picks its entry of --target-counts")
    parser.add_argument("--target-counts", default="{}",
                        help="JSON of data.filter.target_count: frames to keep per data set (by the height threshold)")


def register(sub: argparse._SubParsersAction) -> None:
    demo = command(sub, "demo-data", _demo_data, "generate the built-in demo data sets (BDD100K- and SYNTHIA-like)")
    demo.add_argument("--out", type=Path, required=True)
    add_settings(demo, "data.demo")

    bdd = command(sub, "select-bdd100k", _select_bdd100k, "read BDD100K labels, filter frames, write the manifest")
    bdd.add_argument("--labels", type=Path, required=True, help="labels of one split: a JSON file or a folder of them")
    bdd.add_argument("--images", type=Path, required=True, help="image folder of that split")
    _add_selection_options(bdd, "data.bdd100k (without its paths)")

    syn = command(sub, "select-synthia", _select_synthia, "derive SYNTHIA person boxes, filter frames, write the manifest")
    syn.add_argument("--root", type=Path, required=True)
    syn.add_argument("--box-file", type=optional_path, default=None, help="hand-made boxes (CSV or BDD-style JSON)")
    _add_selection_options(syn, "data.synthia (without its paths)")

    crop = command(sub, "crop-persons", _crop_persons, "crop every kept frame around its largest person")
    crop.add_argument("--manifest", type=Path, required=True)
    crop.add_argument("--out", type=Path, required=True, help="crop folder")
    add_settings(crop, "data.crop")
    crop.add_argument("--workers", type=int, default=1)

    export = command(sub, "export-detector-set", _export_detector_set,
                     "write a YOLO-format detector set (and COCO ground truth) of a manifest's frames")
    export.add_argument("--manifest", type=Path, required=True)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--frames", choices=("kept", "all"), required=True)
    add_settings(export, "data.export (without val_frames)")
    export.add_argument("--coco", type=Path, default=None, help="also write COCO ground truth here")

    summary = command(sub, "summarize-data", _summarize_data, "counts by filter reason and a box-height histogram")
    summary.add_argument("--manifest", type=Path, required=True)
    summary.add_argument("--domain", required=True)
    summary.add_argument("--json", type=Path, required=True)
    summary.add_argument("--plot", type=Path, required=True)
