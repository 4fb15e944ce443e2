"""Subcommand of the CycleGAN stage (rules/cyclegan.smk): one training process of a run.

The rule starts it through `cg2real launch` (torchrun, horovodrun or mpirun), once per process.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from cg2real.cli import add_settings, command
from cg2real.settings import settings_from_json

if TYPE_CHECKING:  # torch and the trainer load only when a subcommand runs
    from cg2real.cyclegan.train import CycleGANSettings


def horovod_fusion_threshold(settings: CycleGANSettings) -> int:
    """horovod's fusion threshold for this run's optimisers (G_A + G_B, D_A + D_B, as the trainer
    groups them), counted on networks built on the meta device: `hvd.init()` reads it before the
    trainer builds the real ones, and shapes need no weights."""
    import torch

    from cg2real.cyclegan.distributed import fusion_threshold_bytes
    from cg2real.cyclegan.networks import define_discriminator, define_generator

    net = settings.network
    with torch.device("meta"):
        groups = [[define_generator(net.generator, net.ngf) for _ in "AB"],
                  [define_discriminator(net.discriminator, net.ndf) for _ in "AB"]]
    return fusion_threshold_bytes(groups, settings.fp16_allreduce)


def _train_cyclegan(args: argparse.Namespace) -> None:
    from cg2real.cyclegan.distributed import init_distributed
    from cg2real.cyclegan.train import CycleGANSettings, CycleGANTrainer

    settings = settings_from_json(CycleGANSettings, args.settings, "cyclegan")
    fusion_threshold = horovod_fusion_threshold(settings) if args.backend == "horovod" else None
    dist = init_distributed(args.backend, args.device, settings.horovod_cycle_time_ms, settings.fp16_allreduce,
                            fusion_threshold)
    if not dist.is_main:
        logging.getLogger().handlers[0].setFormatter(logging.Formatter(f"[rank {dist.rank}] %(levelname)s %(message)s"))
    try:
        CycleGANTrainer(settings, dist, args.crops_a, args.crops_b, args.out).fit()
    finally:
        dist.close()


def register(sub: argparse._SubParsersAction) -> None:
    train = command(sub, "train-cyclegan", _train_cyclegan,
                    "train a CycleGAN (CG crops = A, real crops = B) on this process")
    train.add_argument("--crops-a", type=Path, required=True, help="CG crops (domain A)")
    train.add_argument("--crops-b", type=Path, required=True, help="real crops (domain B)")
    train.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, metrics, generators)")
    add_settings(train, "cyclegan.defaults with the run's overrides")
    train.add_argument("--backend", choices=("none", "torch", "horovod"), default="none")
    train.add_argument("--device", default="auto", help="auto, cpu or cuda")
