"""Subcommands of the detector stage (rules/detector.smk): a condition's set, its training, its row."""

from __future__ import annotations

import argparse
from pathlib import Path

from cg2real.cli import add_settings, command, optional_path
from cg2real.errors import DataError
from cg2real.settings import settings_from_json


def _device(text: str) -> str | None:
    """ultralytics' device argument: None lets it choose."""
    return None if text == "auto" else text


def _detector_set(args: argparse.Namespace) -> None:
    from cg2real.detector.dataset import REAL_PREFIX, DetectorSetSettings, FrameSource, assemble_condition_set

    settings = settings_from_json(DetectorSetSettings, args.settings, "detector set")
    sources = [FrameSource(args.real, settings.real_count, REAL_PREFIX)]
    if (args.cg is None) != (settings.cg is None):
        raise DataError(f"CG frames: --cg is {args.cg} but the settings draw {settings.cg} (both or neither)")
    if args.cg is not None:
        sources.append(FrameSource(args.cg, settings.cg_count, "cg_"))
    assemble_condition_set(sources, args.val, settings.seed, args.out)


def _train_detector(args: argparse.Namespace) -> None:
    from cg2real.detector.records import DATA_YAML
    from cg2real.detector.train import DetectorTrainSettings, train_detector

    settings = settings_from_json(DetectorTrainSettings, args.settings, "detector.train")
    train_detector(settings, args.data / DATA_YAML, _device(args.device), args.out)


def _evaluate_detector(args: argparse.Namespace) -> None:
    from cg2real.detector.score import EvaluationSettings, evaluate_condition

    settings = settings_from_json(EvaluationSettings, args.settings, "detector.evaluate")
    evaluate_condition(args.condition, args.weights, args.data, args.coco, settings, args.imgsz,
                       _device(args.device), args.provenance, args.out, args.replicate, args.detections)


def register(sub: argparse._SubParsersAction) -> None:
    dset = command(sub, "detector-set", _detector_set,
                   "assemble a Table 2 condition's training set (real + optional CG frames)")
    dset.add_argument("--real", type=Path, required=True, help="YOLO set of real training frames")
    dset.add_argument("--cg", type=optional_path, default=None, help="YOLO set of CG frames (raw or translated)")
    dset.add_argument("--val", type=Path, required=True, help="YOLO set of real validation frames")
    dset.add_argument("--settings", required=True,
                      help='JSON {"real": count, "cg": count or null, "seed": detector.sample_seed}; a count is a '
                           "number or 'all'")
    dset.add_argument("--out", type=Path, required=True, help="condition folder (train/, val/, data.yaml, selection.json)")

    det = command(sub, "train-detector", _train_detector, "fine-tune the one-class YOLOv3 person detector of a condition")
    det.add_argument("--data", type=Path, required=True, help="condition folder (data.yaml, train/, val/)")
    add_settings(det, "detector.train")
    det.add_argument("--device", default="auto", help="auto, cpu, 0 or 0,1,2,3")
    det.add_argument("--out", type=Path, required=True, help="detector run folder")

    ev = command(sub, "evaluate-detector", _evaluate_detector,
                 "score a detector on the real validation set: one Table 2 row")
    ev.add_argument("--condition", required=True, help="name of the Table 2 condition")
    ev.add_argument("--weights", type=Path, required=True, help="detector checkpoint (best_map50.pt)")
    ev.add_argument("--data", type=Path, required=True, help="condition folder (selection.json, val/)")
    ev.add_argument("--coco", type=Path, required=True, help="COCO ground truth of the validation set")
    add_settings(ev, "detector.evaluate")
    ev.add_argument("--imgsz", type=int, required=True, help="inference size (the training size)")
    ev.add_argument("--device", default="auto", help="auto, cpu or 0")
    ev.add_argument("--provenance", required=True, help="JSON of the condition and the settings it was made with")
    ev.add_argument("--replicate", type=int, default=0, help="replicate number r (detector seed train.seed + r)")
    ev.add_argument("--detections", type=Path, default=None, help="COCO detections JSON, cached for the bootstrap")
    ev.add_argument("--out", type=Path, required=True, help="the replicate's row JSON")
