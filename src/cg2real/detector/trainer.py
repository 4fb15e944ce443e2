"""ultralytics' detection trainer, extended to keep the checkpoint of the best validation mAP@0.5, to
write every checkpoint whole or not at all, and to stop between batches on SIGTERM/SIGINT (stop.py);
and, from the run's loop settings (schedule.py), to start the backbone from Darknet-53's ImageNet
weights, to follow darknet's learning-rate schedule, and to validate every n iterations.

Import this module only after `configure_ultralytics_offline()`: it imports ultralytics. It is a
module of its own because ultralytics' multi-GPU mode re-imports the trainer class by name in each
DDP worker, so the class must live at module level.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import torch
import ultralytics.engine.trainer
import ultralytics.utils.torch_utils
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import LOGGER, RANK
from ultralytics.utils.torch_utils import strip_optimizer

from cg2real.detector import stop
from cg2real.detector.darknet import load_darknet_backbone
from cg2real.detector.records import BEST_MAP50, MAP50_KEY
from cg2real.detector.schedule import LoopSettings, darknet_lr_factor, validation_due


# The GPUs on which ultralytics' own AMP check turns AMP off (NaN losses or zero mAP there):
# ultralytics/utils/checks.py, check_amp, 8.4.190.
AMP_UNRELIABLE_GPUS = re.compile(
    r"(nvidia|geforce|quadro|tesla).*?(1660|1650|1630|t400|t550|t600|t1000|t1200|t2000|k40m)", re.IGNORECASE
)


def check_amp_offline(model: torch.nn.Module) -> bool:
    """Whether to train with AMP, decided without the network.

    ultralytics' `check_amp` compares fp32 and AMP inference of `yolo26n.pt`, which it downloads from
    GitHub even with YOLO_OFFLINE set: on an offline GPU node that is a network attempt that waits for
    its connect timeout. This keeps the parts that need nothing: no AMP off CUDA, and none on the GPUs
    ultralytics lists as unreliable. The trainer's module-level `check_amp` is replaced below.
    """
    device = next(model.parameters()).device
    if device.type != "cuda":
        return False
    gpu = torch.cuda.get_device_name(device)
    if AMP_UNRELIABLE_GPUS.search(gpu):
        LOGGER.warning(f"AMP: off on {gpu} (ultralytics lists AMP as unreliable there)")
        return False
    LOGGER.info(f"AMP: on for {gpu} (ultralytics' download-based comparison skipped: offline)")
    return True


ultralytics.engine.trainer.check_amp = check_amp_offline


def use_threads(threads: int | None) -> None:
    """Train with `threads` torch threads (None: ultralytics' own, min(8, cores - 1)).

    ultralytics' `select_device` sets torch's thread count from its module-level NUM_THREADS while
    the trainer starts, whatever OMP_NUM_THREADS or an earlier `torch.set_num_threads` said; the job
    reserves `detector.train.threads` cores (rules/detector.smk), so the training must use as many.
    """
    if threads is not None:
        ultralytics.utils.torch_utils.NUM_THREADS = threads


def replace_durably(tmp: Path, path: Path) -> None:
    """Move a fully written `tmp` onto `path`: readers (and a rerun after kill -9 or a node failure) see
    the old file or the new one, never a torn one. fsync first, or a crash could leave the new name empty."""
    with tmp.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def partial(path: Path) -> Path:
    """Where `path` is written before `replace_durably` moves it into place."""
    return path.with_name(path.name + ".partial")


def kept_best(weights_dir: Path) -> Path:
    """The best-mAP@0.5 checkpoint of a run, inside ultralytics' run folder: Snakemake deletes the
    declared output of a failed job, never this folder, so a resumed run still knows its best epoch."""
    return weights_dir / BEST_MAP50


def read_record(checkpoint: Path) -> dict:
    """The epoch and mAP@0.5 of a kept checkpoint. They are read from the checkpoint itself (ultralytics
    saves its epoch and validation metrics in it), so weights and record can never disagree."""
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    return {"epoch": ckpt["epoch"] + 1, "map50": float(ckpt["train_metrics"][MAP50_KEY])}


class BestMap50Trainer(DetectionTrainer):
    """Keeps `weights/best_map50.pt`, a copy of `last.pt` from the epoch with the best mAP@0.5 so far.

    ultralytics' own `best.pt` follows its fitness (mAP@0.5:0.95 in this version); the paper reports
    the checkpoint with the highest mAP@0.5. The best value so far is read back from the kept
    checkpoint when a run resumes. The loop settings are read from `loop.json` beside ultralytics'
    run folder (its parent: ultralytics deletes the run folder itself before a multi-GPU start).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loop = LoopSettings.read(self.save_dir.parent)
        kept = kept_best(self.wdir)
        self.best_map50 = read_record(kept)["map50"] if kept.is_file() else float("-inf")
        self.batch_in_epoch = 0
        for event in ("on_train_batch_start", "on_val_batch_start"):  # validation also stops: it can be long
            self.add_callback(event, stop.check)
        if self.loop.schedule == "darknet":
            for event, callback in (("on_train_epoch_start", _restart_batch_count),
                                    ("on_train_batch_start", _set_darknet_lr)):
                if callback not in self.callbacks[event]:  # a multi-GPU worker inherits the parent's callbacks
                    self.add_callback(event, callback)

    def get_model(self, cfg=None, weights=None, verbose: bool = True):
        """ultralytics' model; a new one (no checkpoint to load) gets the Darknet-53 backbone weights when
        the run starts from them. Only the backbone's layers are loaded: the head starts fresh."""
        model = super().get_model(cfg=cfg, weights=weights, verbose=verbose)
        if weights is None and self.loop.backbone is not None:
            backbone = model.model[:len(model.yaml["backbone"])]
            loaded = load_darknet_backbone(backbone, Path(self.loop.backbone))
            if RANK in {-1, 0}:
                LOGGER.info(f"Darknet-53 backbone: {loaded} convolutions from {self.loop.backbone}")
        return model

    def validate(self):
        """ultralytics' validation at the epochs schedule.validation_due picks. A skipped epoch reports
        NaN metrics and no fitness: its results row shows no validation, its checkpoint cannot become
        the best, and ultralytics' early stopping and NaN recovery ignore it."""
        if validation_due(self.epoch, len(self.train_loader), self.loop.val_every_iterations, self.epochs):
            return super().validate()
        return {key: float("nan") for key in self.metrics}, None

    def save_model(self) -> bool:
        """ultralytics' save, into temporary files moved into place in a safe order: the kept best first,
        then last.pt. A kill in between leaves last.pt at the previous epoch, so the rerun redoes this
        epoch; never is last.pt ahead of a best that was not yet kept (that best would be lost)."""
        last, best = self.last, self.best
        self.last, self.best = partial(last), partial(best)
        try:
            saved = super().save_model()
        finally:
            self.last, self.best = last, best
        map50 = float((self.metrics or {}).get(MAP50_KEY, float("nan")))
        if saved and map50 > self.best_map50:  # NaN never wins
            kept = kept_best(self.wdir)
            shutil.copyfile(partial(last), partial(kept))
            replace_durably(partial(kept), kept)
            self.best_map50 = map50
        if partial(best).is_file():
            replace_durably(partial(best), best)
        replace_durably(partial(last), last)
        return saved

    def final_eval(self) -> None:
        """Mark the run finished as ultralytics does, by stripping the optimiser from last.pt, but
        atomically. ultralytics' re-validation of its best.pt is skipped: its fitness is not the
        reported one (evaluate-detector scores best_map50.pt), and it would delay a stop."""
        if RANK in {-1, 0} and self.last.is_file():
            strip_optimizer(self.last, s=str(partial(self.last)))
            replace_durably(partial(self.last), self.last)


def _restart_batch_count(trainer: BestMap50Trainer) -> None:
    trainer.batch_in_epoch = 0


def _set_darknet_lr(trainer: BestMap50Trainer) -> None:
    """Darknet's rate for this iteration, on every parameter group; runs before each batch, after
    ultralytics' per-epoch scheduler step (its warm-up is off and its decay flat under this schedule)."""
    iteration = trainer.epoch * len(trainer.train_loader) + trainer.batch_in_epoch
    factor = darknet_lr_factor(iteration, trainer.loop.iterations, trainer.loop.burn_in)
    for group in trainer.optimizer.param_groups:
        group["lr"] = group["initial_lr"] * factor
    trainer.batch_in_epoch += 1
