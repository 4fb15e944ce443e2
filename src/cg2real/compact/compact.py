"""The compaction loop of paper 001 (figure 3) for a trained CycleGAN run's CG->real generator.

1. Copy the run's G_A into a `CompactGenerator` (all scales 1) and fine-tune it with the L1
   penalty for `sparsity_epochs` (the paper trains its GAN with the penalty from the start).
2. Repeat: delete the channels whose |alpha| < threshold (at most `prune_step` of them per step),
   retrain the generator alone for `finetune_epochs`, measure; until the target measure (MACs or
   parameters) is at most `target_fraction` of the original, or after `max_steps` steps. The
   retraining after the last prune drops the penalty: nothing more will be cut, so the scales need
   not shrink further.

Outputs in the output folder: `G_cg2real.pt` + `model.json` (loadable by `load_generator`, so the
compact generator can replace a run's in translation), `report.csv` (one row per step: size,
MACs, CPU latency, channels kept and removed, mean loss terms) and `summary.json` (the run's
generator as trained vs the final one).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from cg2real.compact.cost import count_macs, count_parameters, cpu_latency_ms
from cg2real.compact.finetune import Optimisation, SparsityTrainer, load_trained_run
from cg2real.compact.generator import CompactGenerator, model_card, save_compact_generator
from cg2real.compact.paths import CARD, REPORT, SUMMARY, WEIGHTS
from cg2real.compact.prune import channels_to_keep, prune

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompactSettings:
    """Config section `compact` (defaults and meanings: schemas/config.schema.yaml)."""

    lambda_l1: float
    threshold: float
    prune_step: float
    target_measure: str
    target_fraction: float
    max_steps: int
    sparsity_epochs: int
    finetune_epochs: int
    lr: float
    scale_lr: float
    batch_size: int
    num_workers: int
    input_size: int
    latency_repeats: int
    seed: int


@dataclass(frozen=True)
class Cost:
    params: int
    macs: int
    latency_ms: float


def measure(model: nn.Module, settings: CompactSettings) -> Cost:
    return Cost(count_parameters(model), count_macs(model, settings.input_size),
                cpu_latency_ms(model, settings.input_size, settings.latency_repeats))


SIZE: dict[str, Callable[[nn.Module, CompactSettings], int]] = {
    "macs": lambda model, settings: count_macs(model, settings.input_size),
    "params": lambda model, settings: count_parameters(model),
}


def report_row(step: int, generator: CompactGenerator, cost: Cost, pruned: int, losses: dict[str, float]) -> dict:
    return {
        "step": step, **asdict(cost), "kept_channels": sum(generator.widths.values()), "pruned_channels": pruned,
        **{name: round(value, 6) for name, value in losses.items()},
        "widths": " ".join(f"{name}={width}" for name, width in generator.widths.items()),
    }


def write_report(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def summarize(original: Cost, final: Cost, settings: CompactSettings, reached: bool, steps: int,
              generator: CompactGenerator) -> dict:
    return {
        "original": asdict(original),
        "final": asdict(final),
        "ratio": {"params": original.params / final.params, "macs": original.macs / final.macs,
                  "latency": original.latency_ms / final.latency_ms},
        "target": {"measure": settings.target_measure, "fraction": settings.target_fraction, "reached": reached},
        "steps": steps,
        "input_size": settings.input_size,
        "widths": generator.widths,
    }


def compact_generator(run_dir: Path, crops_a: Path, crops_b: Path, settings: CompactSettings,
                      device: torch.device, out_dir: Path) -> dict:
    """Compact the run's CG->real generator; writes the outputs of the module docstring, returns the summary."""
    run = load_trained_run(run_dir)
    torch.manual_seed(settings.seed)
    optimisation = Optimisation(settings.lr, settings.scale_lr, settings.batch_size, settings.num_workers,
                                settings.seed)
    trainer = SparsityTrainer(run, crops_a, crops_b, optimisation, device)
    original = measure(run.g_a, settings)
    goal = settings.target_fraction * SIZE[settings.target_measure](run.g_a, settings)
    generator = CompactGenerator.from_resnet(run.g_a).to(device)
    losses = trainer.fit(generator, settings.sparsity_epochs, settings.lambda_l1, step=0)
    rows = [report_row(0, generator, measure(generator, settings), 0, losses)]
    reached, step = False, 0
    while not reached and step < settings.max_steps:
        step += 1
        before = sum(generator.widths.values())
        generator = prune(generator, channels_to_keep(generator, settings.threshold, settings.prune_step))
        reached = SIZE[settings.target_measure](generator, settings) <= goal
        last = reached or step == settings.max_steps
        losses = trainer.fit(generator, settings.finetune_epochs, 0.0 if last else settings.lambda_l1, step)
        pruned = before - sum(generator.widths.values())
        rows.append(report_row(step, generator, measure(generator, settings), pruned, losses))
        log.info("step %d: %s", step, ", ".join(f"{k} {v}" for k, v in rows[-1].items() if k != "step"))
    out_dir.mkdir(parents=True, exist_ok=True)
    card = model_card(generator, run.settings["generator"], run.settings["ngf"], a="cg", b="real",
                      source=str(run.checkpoint))
    save_compact_generator(generator.eval(), card, out_dir / WEIGHTS, out_dir / CARD)
    write_report(rows, out_dir / REPORT)
    final = Cost(rows[-1]["params"], rows[-1]["macs"], rows[-1]["latency_ms"])
    summary = summarize(original, final, settings, reached, step, generator)
    (out_dir / SUMMARY).write_text(json.dumps(summary, indent=1))
    if not reached:
        log.warning("target %s <= %.3g x original not reached after %d steps", settings.target_measure,
                    settings.target_fraction, step)
    return summary
