"""What the training loop does per iteration beyond ultralytics' defaults: darknet's learning-rate
schedule, when to validate, and where the backbone starts from.

ultralytics' trainer takes only its own arguments (it rejects unknown keys, and its multi-GPU mode
rebuilds the trainer from them in each worker), so these travel as `loop.json` in the run folder,
written by train.py and read by the trainer in every process. No ultralytics import here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from cg2real.settings import settings_from_mapping

LOOP_SETTINGS = "loop.json"  # in the detector run folder, beside ultralytics' run
DARKNET_STEPS = (0.8, 0.9)  # Redmon's yolov3.cfg: steps=400000,450000 of max_batches=500200
DARKNET_STEP_SCALE = 0.1  # scales=.1,.1
DARKNET_BURN_IN_POWER = 4  # darknet's policy power during burn_in


@dataclass(frozen=True)
class LoopSettings:
    """The trainer's settings that ultralytics has no argument for."""

    schedule: str  # "ultralytics" (warm-up, then its per-epoch decay) or "darknet"
    iterations: int  # the configured length, where darknet's steps fall
    burn_in: int  # darknet's burn-in iterations
    val_every_iterations: int  # validate at the end of each epoch that crosses a multiple of this
    backbone: str | None  # darknet weights file for the backbone (init imagenet_backbone), else None

    def write(self, run: Path) -> None:
        (run / LOOP_SETTINGS).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, run: Path) -> LoopSettings:
        return settings_from_mapping(cls, json.loads((run / LOOP_SETTINGS).read_text()), LOOP_SETTINGS)


def darknet_lr_factor(iteration: int, iterations: int, burn_in: int) -> float:
    """Darknet's learning rate over lr0 at a 0-based iteration: (i / burn_in)^4 during burn-in, then
    1, times 0.1 from 80% and again from 90% of the iterations (darknet's `steps` policy)."""
    if iteration < burn_in:
        return (iteration / burn_in) ** DARKNET_BURN_IN_POWER
    factor = 1.0
    for fraction in DARKNET_STEPS:
        if iteration >= int(fraction * iterations):
            factor *= DARKNET_STEP_SCALE
    return factor


def validation_due(epoch: int, batches_per_epoch: int, every: int, epochs: int) -> bool:
    """Whether the epoch (0-based) ends with a validation: the last epoch does, and so does every epoch
    whose iterations cross a multiple of `every`. Checkpoints are written per epoch, so this is as close to
    "every n iterations" as a resumable run gets; it depends on the epoch only, so a resumed run agrees."""
    if epoch + 1 >= epochs:
        return True
    return (epoch + 1) * batches_per_epoch // every > epoch * batches_per_epoch // every
