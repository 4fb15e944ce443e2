"""Command line of cg2real: `python -m cg2real <subcommand>`. Argument parsing only.

Every Snakemake rule calls one subcommand; stage settings arrive as the JSON of their config
section (validated by the workflow's schema), paths as explicit arguments.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from cg2real.errors import DataError
from cg2real.settings import settings_from_json

log = logging.getLogger("cg2real")


def _demo_data(args: argparse.Namespace) -> None:
    from cg2real.data.demo import DemoSettings, make_demo_datasets

    make_demo_datasets(args.out, settings_from_json(DemoSettings, args.settings, "data.demo"))


def _select_bdd100k(args: argparse.Namespace) -> None:
    from cg2real.data.prepare import select_bdd100k
    from cg2real.data.select import FilterSettings

    select_bdd100k(
        args.labels, args.images, args.person_categories,
        settings_from_json(FilterSettings, args.filter, "data.filter"), args.out, args.workers,
    )


def _select_synthia(args: argparse.Namespace) -> None:
    from cg2real.data.prepare import select_synthia
    from cg2real.data.select import FilterSettings
    from cg2real.data.synthia import SynthiaLabelSettings

    labels = SynthiaLabelSettings(tuple(args.person_classes), args.min_component_pixels)
    select_synthia(
        args.root, args.layout, args.box_file, labels,
        settings_from_json(FilterSettings, args.filter, "data.filter"), args.out, args.workers,
    )


def _crop(args: argparse.Namespace) -> None:
    from cg2real.data.crop import CropSettings
    from cg2real.data.prepare import write_crops

    write_crops(args.manifest, args.out, settings_from_json(CropSettings, args.settings, "data.crop"), args.workers)


def _export_yolo(args: argparse.Namespace) -> None:
    from cg2real.data.prepare import export_detector_set

    export_detector_set(args.manifest, args.out, args.frames, args.link_mode, args.coco)


def _summarize(args: argparse.Namespace) -> None:
    from cg2real.data.manifest import read_manifest
    from cg2real.data.summary import write_summary

    write_summary(read_manifest(args.manifest), args.domain, args.json, args.plot)


def _train_cyclegan(args: argparse.Namespace) -> None:
    from cg2real.cyclegan.distributed import init_distributed
    from cg2real.cyclegan.train import CycleGANSettings, CycleGANTrainer

    settings = settings_from_json(CycleGANSettings, args.settings, "cyclegan")
    dist = init_distributed(args.backend, args.device)
    if not dist.is_main:
        logging.getLogger().handlers[0].setFormatter(logging.Formatter(f"[rank {dist.rank}] %(levelname)s %(message)s"))
    try:
        CycleGANTrainer(settings, dist, args.crops_a, args.crops_b, args.out).fit()
    finally:
        dist.close()


def _translate(args: argparse.Namespace) -> None:
    from cg2real.cyclegan.distributed import pick_device
    from cg2real.translate.translate import load_generator, translate_detector_set

    device = pick_device(args.device, 0)
    generator = load_generator(args.generator, args.model_card, device)
    translate_detector_set(generator, args.source, args.out, args.batch_size, device)


def _launch(args: argparse.Namespace) -> None:
    from cg2real.launch import launch

    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    code = launch(args.backend, args.nproc, args.hosts, args.controller, program)
    if code:
        raise SystemExit(code)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cg2real", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, run: Callable[[argparse.Namespace], None], help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(run=run)
        return command

    demo = add("demo-data", _demo_data, "generate the built-in demo data sets (BDD100K- and SYNTHIA-like)")
    demo.add_argument("--out", type=Path, required=True)
    demo.add_argument("--settings", required=True, help="JSON of config section data.demo")

    bdd = add("select-bdd100k", _select_bdd100k, "read BDD100K labels, filter frames, write the manifest")
    bdd.add_argument("--labels", type=Path, required=True, help="label JSON of one split")
    bdd.add_argument("--images", type=Path, required=True, help="image folder of that split")
    bdd.add_argument("--person-categories", nargs="+", required=True)
    bdd.add_argument("--filter", required=True, help="JSON of config section data.filter")
    bdd.add_argument("--out", type=Path, required=True, help="manifest CSV")
    bdd.add_argument("--workers", type=int, default=1)

    syn = add("select-synthia", _select_synthia, "derive SYNTHIA person boxes, filter frames, write the manifest")
    syn.add_argument("--root", type=Path, required=True)
    syn.add_argument("--layout", choices=("auto", "rand_cvpr16", "seqs"), default="auto")
    syn.add_argument("--box-file", type=Path, default=None, help="hand-made boxes (CSV or BDD-style JSON)")
    syn.add_argument("--person-classes", type=int, nargs="+", required=True)
    syn.add_argument("--min-component-pixels", type=int, required=True)
    syn.add_argument("--filter", required=True, help="JSON of config section data.filter")
    syn.add_argument("--out", type=Path, required=True, help="manifest CSV")
    syn.add_argument("--workers", type=int, default=1)

    crop = add("crop", _crop, "crop every kept frame around its largest person")
    crop.add_argument("--manifest", type=Path, required=True)
    crop.add_argument("--out", type=Path, required=True, help="crop folder")
    crop.add_argument("--settings", required=True, help="JSON of config section data.crop")
    crop.add_argument("--workers", type=int, default=1)

    export = add("export-yolo", _export_yolo, "write a YOLO-format detector set (and COCO ground truth)")
    export.add_argument("--manifest", type=Path, required=True)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--frames", choices=("kept", "all"), required=True)
    export.add_argument("--link-mode", choices=("copy", "symlink", "hardlink"), default="copy")
    export.add_argument("--coco", type=Path, default=None, help="also write COCO ground truth here")

    summary = add("summarize", _summarize, "counts by filter reason and a box-height histogram")
    summary.add_argument("--manifest", type=Path, required=True)
    summary.add_argument("--domain", required=True)
    summary.add_argument("--json", type=Path, required=True)
    summary.add_argument("--plot", type=Path, required=True)
    train = add("train-cyclegan", _train_cyclegan, "train a CycleGAN (CG crops = A, real crops = B) on this process")
    train.add_argument("--crops-a", type=Path, required=True, help="CG crops (domain A)")
    train.add_argument("--crops-b", type=Path, required=True, help="real crops (domain B)")
    train.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, metrics, generators)")
    train.add_argument("--settings", required=True, help="JSON of the run's CycleGAN settings")
    train.add_argument("--backend", choices=("none", "torch", "horovod"), default="none")
    train.add_argument("--device", default="auto", help="auto, cpu or cuda")

    translate = add("translate", _translate, "translate the frames of a YOLO set with a CG->real generator")
    translate.add_argument("--generator", type=Path, required=True, help="G_cg2real.pt of a CycleGAN run")
    translate.add_argument("--model-card", type=Path, required=True, help="model.json of that run")
    translate.add_argument("--source", type=Path, required=True, help="YOLO set whose images/ are translated")
    translate.add_argument("--out", type=Path, required=True, help="translated YOLO set (same names and labels)")
    translate.add_argument("--batch-size", type=int, default=4)
    translate.add_argument("--device", default="auto", help="auto, cpu or cuda")

    run = add("launch", _launch, "start N processes of a cg2real subcommand with torchrun, horovodrun or mpirun")
    run.add_argument("--backend", choices=("none", "torch", "horovod"), required=True)
    run.add_argument("--nproc", type=int, required=True, help="processes in all (one per device)")
    run.add_argument("--hosts", default=None, help="host1,host2 (default: $PBS_NODEFILE, $SGE_JOB_HOSTLIST, localhost)")
    run.add_argument("--controller", choices=("gloo", "mpi"), default="gloo", help="horovod's controller")
    run.add_argument("program", nargs=argparse.REMAINDER, help="-- <subcommand and its arguments>")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except DataError as err:
        log.error("%s", err)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
