"""Fine-tune a one-class YOLOv3 person detector with ultralytics, as the paper's Table 2 runs did.

Where training starts (`init`): `imagenet_backbone` is the paper's, Redmon's ImageNet-pretrained
Darknet-53 (darknet's own `darknet53.conv.74`) in a YOLOv3 rebuilt to Darknet-53's layout (darknet.py),
its head fresh; `coco_detector` fine-tunes a whole ultralytics checkpoint (yolov3u.pt, which already
detects people); `scratch` starts from random weights (the demo). The schedule is ultralytics' (linear
warm-up of epochs, bias warm-up, linear decay to lrf) or darknet's (burn-in, then steps; schedule.py).

Things that differ from calling `YOLO(...).train()` with defaults, each on purpose:
- The learning rate is the configured one. ultralytics' `optimizer: auto` picks its own optimiser and
  rate and ignores `lr0`, and it accumulates gradients up to a nominal batch `nbs` (64) and rescales
  weight decay by it. Here the optimiser is explicit and `nbs` equals the real batch, so one step is
  one batch and `lr0` is the rate used. With `lr_scaling: linear` the rate follows paper 004's rule
  lr = k x n x eta, where k x n is the total batch over all devices.
- Length is the paper's: iterations at a batch size, turned into epochs of the condition's data set.
- The kept checkpoint is the one with the best validation mAP@0.5 (the paper's choice); ultralytics'
  own `best.pt` follows its fitness, mAP@0.5:0.95. Validation runs every `val_every_iterations`
  (at epoch ends), on the evaluation set as in the paper or on held-out real training frames
  (`selection`). No early stopping: the paper trains all its iterations.
Faults (issue 15): a killed or stopped run resumes from ultralytics' `last.pt` when rerun. The best
checkpoint so far is kept inside ultralytics' run folder (`weights/best_map50.pt`, its epoch and mAP
inside it), which Snakemake does not delete after a failed job, and is copied to the declared output
`best_map50.pt` only at the end; so a resumed run ends with the best of all epochs, before and after
the kill. Checkpoints are written whole or not at all; SIGTERM and SIGINT stop between batches with
exit code 143 or 130 (stop.py), leaving `last.pt` of the last finished epoch to resume from.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from cg2real.detector.darknet import darknet_layout
from cg2real.detector.dataset import hold_out_selection_split
from cg2real.detector.offline import configure_ultralytics_offline
from cg2real.detector.records import BEST_MAP50, TRAIN_SUMMARY, ULTRALYTICS_RUN
from cg2real.detector.schedule import LoopSettings
from cg2real.detector.stop import Stopped, received, stop_on_signals
from cg2real.errors import DataError

log = logging.getLogger(__name__)

SELECTION_SPLIT = "selection"  # the held-out split's folder in the run folder (selection: held_out)
WEIGHTS_NEEDED = {  # what detector.train.weights names, per init
    "imagenet_backbone": "darknet's Darknet-53 ImageNet weights, darknet53.conv.74",
    "coco_detector": "an ultralytics detector checkpoint such as yolov3u.pt",
}


@dataclass(frozen=True)
class DetectorTrainSettings:
    """Detector training hyperparameters (config section detector.train)."""

    model: str
    width_multiple: float | None
    init: str
    weights: str | None
    imgsz: int
    batch: int
    iterations: int
    optimizer: str
    lr0: float
    lr_scaling: str
    lr_per_image: float
    schedule: str
    lrf: float
    momentum: float
    weight_decay: float
    warmup_epochs: float
    warmup_momentum: float
    warmup_bias_lr: float
    burn_in: int
    multi_scale: float
    mosaic: float
    val_every_iterations: int
    selection: str
    selection_fraction: float
    workers: int
    threads: int | None  # torch threads; None: ultralytics' min(8, cores - 1)
    seed: int
    amp: bool
    batch_fraction_warning: float  # paper 004's ~9%: the batch over the training frames, beyond which it warns
    plots: bool  # ultralytics' own plots in its run folder (results.png, PR curve, confusion matrix)


def large_batch_warning(batch: int, train_frames: int, threshold: float) -> str | None:
    """Paper 004's warning sign for YOLOv3: accuracy fell once a batch held more than about 9% of the
    training set. The paper's row a (batch 64, 500 real frames, 12.8%) is past it."""
    fraction = batch / train_frames
    if fraction <= threshold:
        return None
    return (f"a batch of {batch} is {100 * fraction:.1f}% of the {train_frames} training frames, past "
            f"{100 * threshold:g}%: paper 004 saw YOLOv3's accuracy fall beyond about 9%")


def epochs_for_iterations(iterations: int, batch: int, train_frames: int) -> int:
    """Epochs that make `iterations` steps of `batch` frames: the paper counts iterations, ultralytics epochs."""
    if train_frames < 1:
        raise DataError("the condition's training set is empty")
    return max(1, math.ceil(iterations * batch / train_frames))


def learning_rate(settings: DetectorTrainSettings) -> float:
    """lr0 as configured, or paper 004's linear rule: total batch x learning rate per image."""
    if settings.lr_scaling == "linear":
        return settings.batch * settings.lr_per_image
    return settings.lr0


def check_init(settings: DetectorTrainSettings) -> None:
    """`weights` must name the file `init` starts from (none for scratch), and that file must be there."""
    if settings.init == "scratch":
        if settings.weights:
            raise DataError(f"detector.train.init = scratch, but weights = {settings.weights}: set weights to null, "
                            "or init to imagenet_backbone or coco_detector")
        return
    needed = WEIGHTS_NEEDED[settings.init]
    if not settings.weights:
        raise DataError(f"detector.train.init = {settings.init} needs detector.train.weights: the path of {needed}")
    if not Path(settings.weights).is_file():
        raise DataError(f"detector.train.weights = {settings.weights}: file not found; put {needed} there "
                        f"(init {settings.init}; nothing is downloaded), or set init to scratch")


def write_model_yaml(settings: DetectorTrainSettings, out: Path) -> Path:
    """The model definition with one class (and the configured width), as a yaml file ultralytics builds
    from; in Darknet-53's layout when training starts from its ImageNet weights."""
    from ultralytics.nn.tasks import yaml_model_load

    definition = {k: v for k, v in yaml_model_load(settings.model).items() if k not in ("scale", "yaml_file")}
    if settings.init == "imagenet_backbone":
        definition = darknet_layout(definition)
    definition["nc"] = 1
    if settings.width_multiple is not None:
        definition["width_multiple"] = settings.width_multiple
    path = out / "model.yaml"
    path.write_text(yaml.safe_dump(definition, sort_keys=False))
    return path


def train_arguments(settings: DetectorTrainSettings, data_yaml: Path, epochs: int, device: str | None, out: Path) -> dict:
    """The keyword arguments of ultralytics' `train()` for one condition. Under the darknet schedule
    ultralytics' warm-up is off and its per-epoch decay flat (lrf 1): the trainer sets each iteration's rate."""
    ultralytics_schedule = settings.schedule == "ultralytics"
    return {
        "data": str(data_yaml),
        "epochs": epochs,
        "imgsz": settings.imgsz,
        "batch": settings.batch,
        "nbs": settings.batch,  # no gradient accumulation, no weight-decay rescaling
        "optimizer": settings.optimizer,
        "lr0": learning_rate(settings),
        "lrf": settings.lrf if ultralytics_schedule else 1.0,
        "cos_lr": False,
        "momentum": settings.momentum,
        "weight_decay": settings.weight_decay,
        "warmup_epochs": settings.warmup_epochs if ultralytics_schedule else 0.0,
        "warmup_momentum": settings.warmup_momentum,
        "warmup_bias_lr": settings.warmup_bias_lr,
        "multi_scale": settings.multi_scale,
        "mosaic": settings.mosaic,
        "close_mosaic": min(10, epochs // 4),
        "workers": settings.workers,
        "seed": settings.seed,
        "deterministic": True,
        "amp": settings.amp,
        "device": device,
        "pretrained": settings.weights if settings.init == "coco_detector" else False,
        "single_cls": True,
        "plots": settings.plots,
        "val": True,  # the trainer skips the epochs schedule.validation_due does not pick
        "patience": 0,  # no early stopping
        "project": str(out.resolve()),
        "name": ULTRALYTICS_RUN,
        "exist_ok": True,
        "verbose": False,
    }


def run_state(last: Path, kept: Path) -> str:
    """What a rerun does with the run folder: "resume" its unfinished training, "publish" a finished
    training loop whose best checkpoint was not yet copied to the declared output, or train "fresh".

    An unfinished `last.pt` keeps its optimiser; the trainer strips it when the loop ends (as ultralytics
    does), and publishing removes the kept best. A kill after the last epoch's save but before that strip
    leaves a full last.pt of the final epoch, which ultralytics refuses to resume: that is "publish" too.
    """
    import torch

    if not last.is_file():
        return "fresh"
    try:
        checkpoint = torch.load(last, map_location="cpu", weights_only=False)
    except Exception as err:  # written atomically since issue 15; an older torn file cannot be resumed
        log.warning("%s is unreadable (%s): training from scratch", last, err)
        return "fresh"
    epoch = checkpoint.get("epoch", -1)
    if checkpoint.get("optimizer") is None or epoch < 0 or epoch + 1 >= checkpoint["train_args"]["epochs"]:
        return "publish" if kept.is_file() else "fresh"
    return "resume"


def publish(kept: Path, out: Path) -> dict:
    """Copy the kept best checkpoint to the declared output, without its optimiser (only last.pt resumes)."""
    from ultralytics.utils.torch_utils import strip_optimizer

    from cg2real.detector.trainer import partial, read_record, replace_durably

    record = read_record(kept)
    strip_optimizer(kept, s=str(partial(out)))
    replace_durably(partial(out), out)
    return record


def count_frames(data_yaml: Path, split: str) -> int:
    """Images of a split ("train" or "val") of an ultralytics data.yaml."""
    data = yaml.safe_load(data_yaml.read_text())
    return sum(1 for _ in (Path(data["path"]) / data[split]).iterdir())


def loop_settings(settings: DetectorTrainSettings) -> LoopSettings:
    """What the trainer does beyond ultralytics' arguments (schedule.py)."""
    return LoopSettings(
        schedule=settings.schedule, iterations=settings.iterations, burn_in=settings.burn_in,
        val_every_iterations=settings.val_every_iterations,
        backbone=str(Path(settings.weights).resolve()) if settings.init == "imagenet_backbone" else None,
    )


def selection_set(settings: DetectorTrainSettings, data_yaml: Path, out: Path) -> tuple[Path, dict]:
    """The data.yaml training uses and the record of the set that picks the best checkpoint: the condition's
    own (its val is the evaluation set, the paper's choice) or a held-out split of its real training frames."""
    if settings.selection == "eval_set":
        return data_yaml, {"set": "eval_set", "frames": count_frames(data_yaml, "val")}
    split = out / SELECTION_SPLIT
    record = hold_out_selection_split(data_yaml.parent, settings.selection_fraction, settings.seed, split)
    return split / data_yaml.name, record


def train_detector(settings: DetectorTrainSettings, data_yaml: Path, device: str | None, out: Path) -> dict:
    """Train one condition's detector into `out`; returns (and writes) the training summary.

    `out/best_map50.pt` is the reported checkpoint; ultralytics' own run lives in `out/ultralytics/`.
    """
    check_init(settings)
    out.mkdir(parents=True, exist_ok=True)
    configure_ultralytics_offline(out / "ultralytics_settings")
    from ultralytics import YOLO

    from cg2real.detector.trainer import BestMap50Trainer, kept_best, use_threads

    use_threads(settings.threads)
    data_yaml, selection = selection_set(settings, data_yaml, out)
    loop_settings(settings).write(out)
    train_frames = count_frames(data_yaml, "train")
    epochs = epochs_for_iterations(settings.iterations, settings.batch, train_frames)
    if warning := large_batch_warning(settings.batch, train_frames, settings.batch_fraction_warning):
        log.warning(warning)
    weights = out / ULTRALYTICS_RUN / "weights"
    last, kept = weights / "last.pt", kept_best(weights)
    (out / BEST_MAP50).unlink(missing_ok=True)  # the declared output appears only once training is done
    with stop_on_signals():
        state = run_state(last, kept)
        try:
            if state == "resume":
                log.info("resuming detector training from %s", last)
                YOLO(str(last)).train(resume=True, trainer=BestMap50Trainer)
            elif state == "fresh":
                kept.unlink(missing_ok=True)
                log.info("training %s for %d epochs (%d iterations of %d) at lr %g",
                         settings.model, epochs, settings.iterations, settings.batch, learning_rate(settings))
                arguments = train_arguments(settings, data_yaml, epochs, device, out)
                YOLO(str(write_model_yaml(settings, out))).train(trainer=BestMap50Trainer, **arguments)
            else:
                log.info("the training loop in %s had finished: publishing its best checkpoint", out)
        except Exception as err:  # e.g. a data loader worker killed by the same SIGTERM as this process
            if received() is None:
                raise
            raise Stopped(received()) from err
        if not kept.is_file():
            raise DataError(f"detector training in {out} ended without a validated checkpoint")
        summary = {
            "epochs": epochs,
            "lr0": learning_rate(settings),
            "init": settings.init,
            "schedule": settings.schedule,
            "selection": selection,
            "batch_fraction": settings.batch / train_frames,
            "warning": warning,
            "best": publish(kept, out / BEST_MAP50),
            "settings": asdict(settings),
            "device": device,
        }
        (out / TRAIN_SUMMARY).write_text(json.dumps(summary, indent=1))
        kept.unlink()  # published: a rerun of this job (changed settings or inputs) trains from scratch
    return summary
