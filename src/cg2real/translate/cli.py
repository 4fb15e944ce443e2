"""Subcommand of the translation stage (rules/translate.smk)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cg2real.cli import add_settings, command
from cg2real.settings import settings_from_json


def _translate(args: argparse.Namespace) -> None:
    from cg2real.cyclegan.distributed import pick_device
    from cg2real.translate.translate import TranslateSettings, load_generator, translate_detector_set

    settings = settings_from_json(TranslateSettings, args.settings, "translate")
    device = pick_device(settings.device, 0)
    generator = load_generator(args.generator, args.model_card, device)
    translate_detector_set(generator, args.source, args.out, settings.batch_size, device)


def register(sub: argparse._SubParsersAction) -> None:
    translate = command(sub, "translate", _translate, "translate the frames of a YOLO set with a CG->real generator")
    translate.add_argument("--generator", type=Path, required=True, help="G_cg2real.pt of a CycleGAN run")
    translate.add_argument("--model-card", type=Path, required=True, help="model.json of that run")
    translate.add_argument("--source", type=Path, required=True, help="YOLO set whose images/ are translated")
    add_settings(translate, "translate")
    translate.add_argument("--out", type=Path, required=True, help="translated YOLO set (same names and labels)")
