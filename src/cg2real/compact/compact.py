"""The compaction loop of paper 001 (figure 3) for a trained CycleGAN run's CG->real generator.

1. Copy the run's G_A into a `CompactGenerator` (all scales 1) and fine-tune it with the L1
   penalty for `sparsity_epochs` (the paper trains its GAN with the penalty from the start).
2. Repeat: delete the channels whose |alpha| < threshold (at most `prune_step` of them per step),
   retrain the generator alone for `finetune_epochs`, measure; until the target measure (MACs or
   parameters) is at most `target_fraction` of the original, or after `max_steps` steps. The
   retraining after the last prune drops the penalty: nothing more will be cut, so the scales need
   not shrink further.
3. Guard: after each step's retraining, the adversarial term (`SparsityTrainer.adversarial_term`,
   on fixed CG crops against the frozen D_A) may exceed the previous kept step's by at most
   `max_adversarial_rise` (relative). Otherwise the step is rolled back (the pre-step generator is
   kept) and compaction STOPS there: a step that the retraining could not bring back to realism
   says the generator has reached the size at which it starts to fail, and retrying with ever
   smaller steps would mostly spend time for a few channels. The rolled-back step stays in the
   report (`rolled_back` true); its generator is not kept. A generator kept this way had its last
   retraining with the L1 penalty on (it was not known to be the last).

Outputs in the output folder: `G_cg2real.pt` + `model.json` (loadable by `load_generator`, so the
compact generator can replace a run's in translation), `report.csv` (one row per step: size,
MACs, CPU latency, channels kept and removed, mean loss terms, the adversarial term, whether it
was rolled back), `summary.json` (the run's generator as trained vs the final one) and
`steps/step_<k>/` with the generator and card of every kept step (0 = before any prune), in the
format of the final one, so that its FID can be measured per step: this stage may not import the
metrics package, which reads generator folders of this format.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from cg2real.compact.cost import count_macs, count_parameters, cpu_latency_ms
from cg2real.compact.finetune import Optimisation, SparsityTrainer, TrainedRun, load_trained_run
from cg2real.compact.generator import CompactGenerator, model_card, save_compact_generator
from cg2real.compact.paths import CARD, REPORT, STEPS, SUMMARY, WEIGHTS, step_folder
from cg2real.compact.prune import channels_to_keep, prune
from cg2real.cyclegan.run import ModelCard

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
    max_adversarial_rise: float


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


def report_row(step: int, generator: CompactGenerator, cost: Cost, pruned: int, losses: dict[str, float],
               adversarial: float, rolled_back: bool) -> dict:
    return {
        "step": step, **asdict(cost), "kept_channels": sum(generator.widths.values()), "pruned_channels": pruned,
        **{name: round(value, 6) for name, value in losses.items()},
        "adversarial": round(adversarial, 6), "rolled_back": rolled_back,
        "widths": " ".join(f"{name}={width}" for name, width in generator.widths.items()),
    }


def adversarial_rose(before: float, after: float, tolerance: float) -> bool:
    """Whether the adversarial term rose by more than `tolerance` x its value before the step."""
    return after > before * (1.0 + tolerance)


def write_report(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def summarize(original: Cost, final: Cost, settings: CompactSettings, reached: bool, steps: int,
              generator: CompactGenerator, rolled_back_step: int | None) -> dict:
    return {
        "original": asdict(original),
        "final": asdict(final),
        "ratio": {"params": original.params / final.params, "macs": original.macs / final.macs,
                  "latency": original.latency_ms / final.latency_ms},
        "target": {"measure": settings.target_measure, "fraction": settings.target_fraction, "reached": reached},
        "steps": steps,
        "rolled_back_step": rolled_back_step,
        "input_size": settings.input_size,
        "widths": generator.widths,
    }


def card_for(generator: CompactGenerator, run: TrainedRun) -> ModelCard:
    """The model card of a compact generator pruned from `run`'s G_A."""
    return model_card(generator, run.settings["generator"], run.settings["ngf"], a="cg", b="real",
                      source=str(run.checkpoint))


def save_step(generator: CompactGenerator, card: ModelCard, out_dir: Path, step: int) -> None:
    """The generator kept at `step` in `steps/step_<k>/`, for FID per step (module docstring)."""
    folder = step_folder(out_dir, step)
    save_compact_generator(generator, card, folder / WEIGHTS, folder / CARD)


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
    shutil.rmtree(out_dir / STEPS, ignore_errors=True)  # an earlier compaction's steps are not this one's
    generator = CompactGenerator.from_resnet(run.g_a).to(device)
    losses = trainer.fit(generator, settings.sparsity_epochs, settings.lambda_l1, step=0)
    adversarial = trainer.adversarial_term(generator)
    rows = [report_row(0, generator, measure(generator, settings), 0, losses, adversarial, False)]
    kept_row = rows[0]
    save_step(generator, card_for(generator, run), out_dir, 0)
    reached, step, rolled_back_step = False, 0, None
    while not reached and step < settings.max_steps:
        step += 1
        before = sum(generator.widths.values())
        candidate = prune(generator, channels_to_keep(generator, settings.threshold, settings.prune_step))
        small_enough = SIZE[settings.target_measure](candidate, settings) <= goal
        last = small_enough or step == settings.max_steps
        losses = trainer.fit(candidate, settings.finetune_epochs, 0.0 if last else settings.lambda_l1, step)
        after = trainer.adversarial_term(candidate)
        rose = adversarial_rose(adversarial, after, settings.max_adversarial_rise)
        pruned = before - sum(candidate.widths.values())
        rows.append(report_row(step, candidate, measure(candidate, settings), pruned, losses, after, rose))
        log.info("step %d: %s", step, ", ".join(f"{k} {v}" for k, v in rows[-1].items() if k != "step"))
        if rose:
            rolled_back_step = step
            log.warning("step %d raised the adversarial term from %.4g to %.4g (more than %.0f%%): rolled back "
                        "to step %d's generator and stopped", step, adversarial, after,
                        100 * settings.max_adversarial_rise, kept_row["step"])
            break
        generator, adversarial, reached, kept_row = candidate, after, small_enough, rows[-1]
        save_step(generator, card_for(generator, run), out_dir, step)
    save_compact_generator(generator.eval(), card_for(generator, run), out_dir / WEIGHTS, out_dir / CARD)
    write_report(rows, out_dir / REPORT)
    final = Cost(kept_row["params"], kept_row["macs"], kept_row["latency_ms"])
    summary = summarize(original, final, settings, reached, step, generator, rolled_back_step)
    (out_dir / SUMMARY).write_text(json.dumps(summary, indent=1))
    if not reached:
        log.warning("target %s <= %.3g x original not reached after %d steps", settings.target_measure,
                    settings.target_fraction, step)
    return summary
