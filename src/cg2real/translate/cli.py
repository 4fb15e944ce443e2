"""Subcommand of the translation stage (rules/translate.smk), also for a trained generator by hand.

Two inputs: the workflow's YOLO set (`--source`: images/ translated, labels/ copied, data.yaml
written), or a plain folder of images (`--input-dir`, as the reference CycleGAN's test script).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cg2real.cli import add_settings, command
from cg2real.cyclegan.run import MODEL_CARD
from cg2real.settings import settings_from_json


def _translate(args: argparse.Namespace) -> None:
    from cg2real.cyclegan.distributed import pick_device
    from cg2real.translate.translate import TranslateSettings, load_generator, translate_detector_set, translate_folder

    settings = settings_from_json(TranslateSettings, args.settings, "translate")
    device = pick_device(settings.device, 0)
    generator = load_generator(args.generator, args.model_card or args.generator.with_name(MODEL_CARD), device)
    if args.source:
        translate_detector_set(generator, args.source, args.out, settings.batch_size, device)
    else:
        translate_folder(generator, args.input_dir, args.out, settings.batch_size, device)


def register(sub: argparse._SubParsersAction) -> None:
    translate = command(
        sub, "translate", _translate, "translate a YOLO set's frames, or a folder of images, with a CG->real generator"
    )
    translate.add_argument("--generator", type=Path, required=True, help="G_cg2real.pt of a CycleGAN run (or compact)")
    translate.add_argument(
        "--model-card", type=Path, help=f"{MODEL_CARD} of that run (default: the {MODEL_CARD} beside the generator)"
    )
    source = translate.add_mutually_exclusive_group(required=True)
    source.add_argument("--source", type=Path, help="YOLO set whose images/ are translated (labels/ are copied)")
    source.add_argument("--input-dir", type=Path, help="a plain folder of images (.jpg, .jpeg, .png; no labels)")
    add_settings(translate, "translate")
    out_help = "translated YOLO set (--source), or folder of translated images under the same names (--input-dir)"
    translate.add_argument("--out", "--output-dir", type=Path, required=True, help=out_help)
