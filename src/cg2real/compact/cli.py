"""Subcommand of the compact-generator stage (rules/compact.smk, paper 001)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cg2real.cli import add_settings, command
from cg2real.settings import settings_from_json


def _compact_generator(args: argparse.Namespace) -> None:
    from cg2real.compact.compact import CompactSettings, compact_generator
    from cg2real.cyclegan.distributed import pick_device

    settings = settings_from_json(CompactSettings, args.settings, "compact")
    compact_generator(args.run_dir, args.crops_a, args.crops_b, settings, pick_device(args.device, 0), args.out)


def register(sub: argparse._SubParsersAction) -> None:
    compact = command(sub, "compact-generator", _compact_generator,
                      "prune a run's CG->real generator by learned filter scales (paper 001) and retrain it")
    compact.add_argument("--run-dir", type=Path, required=True, help="CycleGAN run folder (checkpoints/ holds D_A)")
    compact.add_argument("--crops-a", type=Path, required=True, help="CG crops (domain A)")
    compact.add_argument("--crops-b", type=Path, required=True, help="real crops (domain B)")
    add_settings(compact, "compact")
    compact.add_argument("--device", default="auto", help="auto, cpu or cuda")
    compact.add_argument("--out", type=Path, required=True, help="folder for the compact generator and its report")
