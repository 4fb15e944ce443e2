"""File names of the compact stage's output folder (`compact.compact_generator`).

Torch-free, like `cyclegan.run`: the workflow imports them at parse time. The generator and its
model card have the format of a CycleGAN run folder's, so their names are that folder's.
"""

from __future__ import annotations

from pathlib import Path

from cg2real.cyclegan.run import GENERATOR_CG2REAL, MODEL_CARD

WEIGHTS = GENERATOR_CG2REAL  # the compact CG -> real generator
CARD = MODEL_CARD  # its model card, with the per-group widths
REPORT = "report.csv"  # one row per prune step
SUMMARY = "summary.json"  # the run's generator as trained vs the final one
STEPS = "steps"  # folder: the generator (WEIGHTS + CARD) of every kept step, one folder each
STEP = "step_{step:03d}"  # in STEPS


def step_folder(out_dir: Path, step: int) -> Path:
    """The folder of the generator kept at prune step `step` (0: before any prune)."""
    return out_dir / STEPS / STEP.format(step=step)
