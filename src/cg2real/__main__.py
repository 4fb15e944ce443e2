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
    dist = init_distributed(args.backend, args.device, settings.horovod_cycle_time_ms)
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


def _fid(args: argparse.Namespace) -> None:
    from cg2real.cyclegan.distributed import pick_device
    from cg2real.metrics.fid_curve import write_fid_curve
    from cg2real.metrics.inception import default_weights_path

    weights = args.weights or default_weights_path()
    write_fid_curve(args.run_dir, args.real_crops, args.cg_crops, weights, args.out, args.batch_size,
                    pick_device(args.device, 0), args.require_weights)


def _inception_score(args: argparse.Namespace) -> None:
    from cg2real.cyclegan.distributed import pick_device
    from cg2real.metrics.inception import default_weights_path
    from cg2real.metrics.inception_score import write_inception_score

    weights = args.weights or default_weights_path()
    write_inception_score(args.run_dir, args.cg_crops, weights, args.out, args.batch_size,
                          pick_device(args.device, 0), args.splits, args.require_weights)


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


def _compact_generator(args: argparse.Namespace) -> None:
    from cg2real.compact.compact import CompactSettings, compact_generator
    from cg2real.cyclegan.distributed import pick_device

    settings = settings_from_json(CompactSettings, args.settings, "compact")
    compact_generator(args.run_dir, args.crops_a, args.crops_b, settings, pick_device(args.device, 0), args.out)


def _detector_set(args: argparse.Namespace) -> None:
    from cg2real.detector.dataset import FrameSource, assemble_condition_set, parse_count

    sources = [FrameSource(args.real, parse_count(args.real_count), "real_")]
    if args.cg is not None:
        sources.append(FrameSource(args.cg, parse_count(args.cg_count), "cg_"))
    assemble_condition_set(sources, args.val, args.seed, args.out)


def _train_detector(args: argparse.Namespace) -> None:
    from cg2real.detector.train import DetectorTrainSettings, train_detector

    settings = settings_from_json(DetectorTrainSettings, args.settings, "detector.train")
    train_detector(settings, args.data, None if args.device == "auto" else args.device, args.out)


def _evaluate_detector(args: argparse.Namespace) -> None:
    from cg2real.report.table2 import EvaluationSettings, evaluate_condition

    settings = settings_from_json(EvaluationSettings, args.settings, "detector.evaluate")
    evaluate_condition(args.condition, args.weights, args.data, args.coco, settings, args.imgsz,
                       None if args.device == "auto" else args.device, args.provenance, args.out)


def _table2(args: argparse.Namespace) -> None:
    from cg2real.report.table2 import write_table2

    write_table2(args.rows, args.csv, args.markdown, args.with_paper)


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


def _launch(args: argparse.Namespace) -> None:
    from cg2real.launch import launch

    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    code = launch(args.backend, args.nproc, args.hosts, args.controller, program)
    if code:
        raise SystemExit(code)


def _cluster_submit(args: argparse.Namespace) -> None:
    from cg2real.cluster.submit import submit

    print(submit(args.jobscript))


def _cluster_status(args: argparse.Namespace) -> None:
    from cg2real.cluster.status import job_status

    print(job_status(args.jobid))


def _install_profile(args: argparse.Namespace) -> None:
    import os

    from cg2real.cluster.profile import install_profile

    print(install_profile(args.source, args.name, os.environ))


def add_inception_options(command: argparse.ArgumentParser, metric: str) -> None:
    """Options shared by the Inception metrics (FID, IS): weights file, batch, device, strictness."""
    command.add_argument("--weights", type=Path, default=None,
                         help="pytorch-fid Inception weights "
                              "(default: $TORCH_HOME/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth)")
    command.add_argument("--batch-size", type=int, default=16)
    command.add_argument("--device", default="auto", help="auto, cpu or cuda")
    command.add_argument("--require-weights", action="store_true",
                         help=f"a missing weights file is an error (else {metric} is marked as not computed)")


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

    fid = add("fid", _fid, "FID of real crops vs CG crops translated by each saved generator of a run (CSV)")
    fid.add_argument("--run-dir", type=Path, required=True, help="CycleGAN run folder (generators/, G_cg2real.pt)")
    fid.add_argument("--real-crops", type=Path, required=True, help="real crop folder (domain B)")
    fid.add_argument("--cg-crops", type=Path, required=True, help="CG crop folder (domain A), translated per generator")
    add_inception_options(fid, "FID")
    fid.add_argument("--out", type=Path, required=True, help="CSV: epoch, generator, fid, ..., status")

    score = add("inception-score", _inception_score,
                "Inception Score of the CG crops translated by a run's final generator (JSON; paper 002's metric)")
    score.add_argument("--run-dir", type=Path, required=True, help="CycleGAN run folder (G_cg2real.pt, model.json)")
    score.add_argument("--cg-crops", type=Path, required=True, help="CG crop folder (domain A), translated")
    add_inception_options(score, "IS")
    score.add_argument("--splits", type=int, default=10, help="parts the score is averaged over (fewer if small)")
    score.add_argument("--out", type=Path, required=True, help="JSON: is_mean, is_std, status, ...")

    plot_fid = add("plot-fid", _plot_fid, "plot FID vs epoch, one line per run (paper 000, figure 6)")
    plot_fid.add_argument("--csv", type=_named_csv, nargs="+", required=True, metavar="RUN=CSV",
                          help="a run's name and its FID CSV (from `fid`), one per run")
    plot_fid.add_argument("--out", type=Path, required=True, help="PNG")

    compact = add("compact-generator", _compact_generator,
                  "prune a run's CG->real generator by learned filter scales (paper 001) and retrain it")
    compact.add_argument("--run-dir", type=Path, required=True, help="CycleGAN run folder (checkpoints/ holds D_A)")
    compact.add_argument("--crops-a", type=Path, required=True, help="CG crops (domain A)")
    compact.add_argument("--crops-b", type=Path, required=True, help="real crops (domain B)")
    compact.add_argument("--settings", required=True, help="JSON of config section compact")
    compact.add_argument("--device", default="auto", help="auto, cpu or cuda")
    compact.add_argument("--out", type=Path, required=True, help="folder for the compact generator and its report")

    dset = add("detector-set", _detector_set, "assemble a Table 2 condition's training set (real + optional CG frames)")
    dset.add_argument("--real", type=Path, required=True, help="YOLO set of real training frames")
    dset.add_argument("--real-count", required=True, help="frames drawn from it: a number or 'all'")
    dset.add_argument("--cg", type=Path, default=None, help="YOLO set of CG frames (raw or translated)")
    dset.add_argument("--cg-count", default="all", help="frames drawn from it: a number or 'all'")
    dset.add_argument("--val", type=Path, required=True, help="YOLO set of real validation frames")
    dset.add_argument("--seed", type=int, required=True)
    dset.add_argument("--out", type=Path, required=True, help="condition folder (train/, val/, data.yaml, selection.json)")

    det = add("train-detector", _train_detector, "fine-tune the one-class YOLOv3 person detector of a condition")
    det.add_argument("--data", type=Path, required=True, help="data.yaml of the condition's set")
    det.add_argument("--settings", required=True, help="JSON of config section detector.train")
    det.add_argument("--device", default="auto", help="auto, cpu, 0 or 0,1,2,3")
    det.add_argument("--out", type=Path, required=True, help="detector run folder")

    ev = add("evaluate-detector", _evaluate_detector, "score a detector on the real validation set: one Table 2 row")
    ev.add_argument("--condition", required=True, help="name of the Table 2 condition")
    ev.add_argument("--weights", type=Path, required=True, help="detector checkpoint (best_map50.pt)")
    ev.add_argument("--data", type=Path, required=True, help="condition folder (selection.json, val/)")
    ev.add_argument("--coco", type=Path, required=True, help="COCO ground truth of the validation set")
    ev.add_argument("--settings", required=True, help="JSON of config section detector.evaluate")
    ev.add_argument("--imgsz", type=int, required=True, help="inference size (the training size)")
    ev.add_argument("--device", default="auto", help="auto, cpu or 0")
    ev.add_argument("--provenance", required=True, help="JSON of the condition and the settings it was made with")
    ev.add_argument("--out", type=Path, required=True, help="row JSON")

    table = add("table2", _table2, "gather the condition rows into Table 2 (CSV and Markdown)")
    table.add_argument("--rows", type=Path, nargs="+", required=True, help="row JSON files, in table order")
    table.add_argument("--csv", type=Path, required=True)
    table.add_argument("--markdown", type=Path, required=True)
    table.add_argument("--with-paper", action="store_true", help="add the paper's rows a-g beside ours")

    study = add("augment-study", _augment_study,
                "table of CycleGAN runs by augmentation: final FID, IS, detector mAP@0.5 (papers 003, 002)")
    study.add_argument("--manifest", required=True,
                       help='JSON list, one entry per run in table order: {"run": NAME, "fid": CSV, "is": JSON, '
                            '"settings": {the run\'s CycleGAN settings}, "row": Table 2 row JSON or null}')
    study.add_argument("--out", type=Path, required=True, help="Markdown (augment_study.md)")

    scal = add("plot-scalability", _plot_scalability,
               "CycleGAN speed-up against process count (figure 4) and the efficiency table")
    scal.add_argument("--runs", nargs="+", required=True, help="run names (runs of the same training)")
    scal.add_argument("--metrics", type=Path, nargs="+", required=True, help="their metrics.csv, same order")
    scal.add_argument("--out", type=Path, required=True, help="PNG")
    scal.add_argument("--csv", type=Path, required=True, help="efficiency table, CSV")
    scal.add_argument("--markdown", type=Path, required=True, help="efficiency table, Markdown")
    scal.add_argument("--with-paper", action="store_true", help="add paper 000's points and rows")

    grid = add("sample-grid", _sample_grid, "frames side by side: real, CG, and that CG frame translated by each run")
    grid.add_argument("--real", type=Path, required=True, help="YOLO set of real frames")
    grid.add_argument("--cg", type=Path, required=True, help="YOLO set of CG frames")
    grid.add_argument("--runs", nargs="*", default=[], help="run names")
    grid.add_argument("--translated", type=Path, nargs="*", default=[], help="their translated YOLO sets, same order")
    grid.add_argument("--count", type=int, default=4, help="rows")
    grid.add_argument("--out", type=Path, required=True, help="PNG")

    run = add("launch", _launch, "start N processes of a cg2real subcommand with torchrun, horovodrun or mpirun")
    run.add_argument("--backend", choices=("none", "torch", "horovod"), required=True)
    run.add_argument("--nproc", type=int, required=True, help="processes in all (one per device)")
    run.add_argument("--hosts", default=None, help="host1,host2 (default: $PBS_NODEFILE, $SGE_JOB_HOSTLIST, localhost)")
    run.add_argument("--controller", choices=("gloo", "mpi"), default="gloo", help="horovod's controller")
    run.add_argument("program", nargs=argparse.REMAINDER, help="-- <subcommand and its arguments>")

    # the ABCI profile's commands (profiles/abci/config.yaml) and its installation
    cluster_submit = add("cluster-submit", _cluster_submit, "qsub a Snakemake jobscript with its rule's resources; print the job id")
    cluster_submit.add_argument("jobscript", type=Path)
    cluster_status = add("cluster-status", _cluster_status, "print running, success or failed for a job id from cluster-submit")
    cluster_status.add_argument("jobid")
    profile = add("install-profile", _install_profile,
                  "link the ABCI profile into Snakemake's user config folder, so `--profile abci` finds it")
    profile.add_argument("--source", type=Path, default=Path("profiles/abci"), help="the profile folder")
    profile.add_argument("--name", default="abci", help="profile name to install as")
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
