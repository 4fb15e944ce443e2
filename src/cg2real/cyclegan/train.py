"""CycleGAN training (Zhu et al. 2017) on person-centred crops, on 1..n processes.

Names follow the reference code: domain A is CG (SYNTHIA), B is real (BDD100K); G_A: A -> B (the
CG-to-real translator we keep), G_B: B -> A; D_A judges real-looking images (fake_B vs real_B), D_B
judges CG-looking ones. One step: update both generators with the discriminators frozen, then both
discriminators on pooled fakes. D's loss is halved as in the reference code, which does NOT slow D
down: Adam's step is invariant to a constant loss scale (it divides the gradient's mean by its
RMS), so the reference's D learns at G's rate. `lr_d_factor: 0.5` gives D half G's learning rate,
what paper 000 (appendix A.1.2) states; 1.0 is the reference code. The step computes the reference's
losses but passes inputs that do not depend on each other through a network in one call
(`_batched`): 7 network calls per step where the reference makes 12 (1.2x its step on the CPU demo,
`benchmarks/reference_step.py`, which also checks that the step stays the reference's).

Learning rate (`schedule`): the reference's linear decay or paper 004's x0.1 steps (`lr_policy`),
optionally scaled with the process count and warmed up from the one-process rate (`warmup_start:
base`, 004's gradual warm-up). When the total batch passes `batch_fraction_warning` of the training
set (paper 004: accuracy fell beyond ~9%), the log and the model card say so.
`fp16_allreduce` halves the gradients' traffic (`distributed`).

Data parallelism (paper 000, section 3.2): each of n processes draws `scale x D / n` samples per
epoch (`sharding.shard_indices`); gradients are averaged over processes before every optimiser step.
`simulate_processes: k` accumulates k samples per step on one process to mimic k processes.

A checkpoint (all state, each rank's image pools) is written after every `checkpoint_every`-th
epoch and the last one; restarting the same command resumes from the newest one and, with a fixed
seed on CPU in fp32, ends with the same weights as a run that was never interrupted.
`save_generator_every: k` also keeps G_A of every k-th epoch and of the last one (`generators/`),
for the FID-vs-epoch curve (paper 000, figure 6).

Faults (issue 15): nothing non-finite is ever written: before each checkpoint and generator
snapshot every parameter, optimiser state and pooled image of every rank is checked, since a NaN
gradient in an epoch's last step leaves that epoch's losses finite but its weights poisoned
(`TrainingDiverged` names the newest finite checkpoint on disk). On SIGTERM or SIGINT (a walltime,
Ctrl-C, a forwarded signal from `cg2real launch`) the ranks agree on a step to stop after, write a
checkpoint of that very step (mid-epoch: the data order is fixed by index, so a resume continues
the epoch exactly) and exit with 128 + the signal's number (`TrainingStopped`, 143 for SIGTERM),
so the job counts as failed, is retried and resumes. Rank 0 holds the run folder's lock
(`run.lock_run_folder`) while training, so a second training of the same folder fails at once.

Augmentation (all off by default, i.e. the reference): `diffaug_policy` transforms real and fake
images before every discriminator call, in D's loss and in G's adversarial loss (paper 003,
`augment`); `lambda_bcr` adds bCR's consistency term to D's loss (the D_A/D_B columns include it);
`classic_policies` are paper 002's data-set augmentations of the crops (`classic`).
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
import os
import signal
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from cg2real.cyclegan.augment import DiffAugment, consistency_loss, parse_policy
from cg2real.cyclegan.data import EpochOrder, JitterSettings, KeyedCrops
from cg2real.cyclegan.distributed import Distributed
from cg2real.cyclegan.losses import cycle_loss, identity_loss, lsgan_loss
from cg2real.cyclegan.networks import define_discriminator, define_generator, set_requires_grad
from cg2real.cyclegan.pool import ImagePool
from cg2real.cyclegan.run import ModelCard, RunPaths, atomic_save, lock_run_folder, write_model_card
from cg2real.cyclegan.schedule import batch_fraction, decay_factor, lr_for, warmed_up_lr
from cg2real.cyclegan.sharding import shard_indices
from cg2real.errors import DataError
from cg2real.images import list_crops, read_rgb, to_image, to_tensor
from cg2real.signals import handling_signals

log = logging.getLogger(__name__)

LOSS_NAMES = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")
MODEL_NAMES = ("G_A", "G_B", "D_A", "D_B")
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)  # those `cg2real launch` and torchrun forward
# settings that fix which sample a step sees: a mid-epoch checkpoint only resumes with the same ones
DATA_ORDER = ("batch_size", "simulate_processes", "scale", "seed")


class TrainingDiverged(DataError):
    """A loss, weight or optimiser state became NaN or infinite; nothing non-finite was written."""


class TrainingStopped(SystemExit):
    """Training stopped on a signal after writing a checkpoint of the step it stopped after.

    A SystemExit with code 128 + the signal's number (143 for SIGTERM), the status of a process the
    signal had killed: the job counts as failed, so a scheduler or Snakemake retries it, and the
    retry resumes from that checkpoint. `finally` blocks (closing the process group) still run.
    """


# Read-only views of one group of CycleGANSettings' flat fields (same names, same values).
@dataclass(frozen=True)
class NetworkSettings:
    """The four networks' architecture."""

    generator: str
    discriminator: str
    ngf: int
    ndf: int


ARCHITECTURE = {f.name for f in fields(NetworkSettings)}  # a checkpoint only fits the same networks


@dataclass(frozen=True)
class OptimiserSettings:
    """Adam and its learning-rate schedule."""

    lr: float
    beta1: float
    beta2: float
    lr_scaling: str
    warmup_epochs: float
    n_epochs: int
    n_epochs_decay: int
    lr_d_factor: float
    lr_policy: str
    lr_step_fractions: tuple[float, ...]
    warmup_start: str


@dataclass(frozen=True)
class AugmentationSettings:
    """DiffAugment and bCR (paper 003) and the classic data-set policies (paper 002)."""

    diffaug_policy: str
    diffaug_shared: bool
    lambda_bcr: float
    bcr_policy: str
    classic_policies: tuple[str, ...]
    classic_contrast: float


@dataclass(frozen=True)
class DistributionSettings:
    """Data parallelism: the epoch's scale, simulated processes, horovod's cycle time, fp16 gradients."""

    scale: float
    simulate_processes: int
    horovod_cycle_time_ms: float
    fp16_allreduce: bool
    batch_fraction_warning: float


def _view(cls: type, settings: object):
    return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class CycleGANSettings:
    """Every hyperparameter of a CycleGAN run (defaults: the reference's, in the config schema)."""

    generator: str
    discriminator: str
    ngf: int
    ndf: int
    load_size: int
    crop_size: int
    flip: bool
    batch_size: int
    n_epochs: int
    n_epochs_decay: int
    lr: float
    beta1: float
    beta2: float
    lambda_cycle: float
    lambda_identity: float
    pool_size: int
    scale: float
    lr_scaling: str
    warmup_epochs: float
    simulate_processes: int
    seed: int
    keep_checkpoints: int
    checkpoint_every: int
    num_workers: int
    amp: str
    channels_last: bool
    sample_count: int
    save_generator_every: int
    compile: bool
    horovod_cycle_time_ms: float
    diffaug_policy: str
    diffaug_shared: bool
    lambda_bcr: float
    bcr_policy: str
    classic_policies: tuple[str, ...]
    classic_contrast: float
    lr_d_factor: float
    lr_policy: str
    lr_step_fractions: tuple[float, ...]
    warmup_start: str
    fp16_allreduce: bool
    batch_fraction_warning: float

    @property
    def epochs(self) -> int:
        return self.n_epochs + self.n_epochs_decay

    @property
    def network(self) -> NetworkSettings:
        return _view(NetworkSettings, self)

    @property
    def optimiser(self) -> OptimiserSettings:
        return _view(OptimiserSettings, self)

    @property
    def augmentation(self) -> AugmentationSettings:
        return _view(AugmentationSettings, self)

    @property
    def distribution(self) -> DistributionSettings:
        return _view(DistributionSettings, self)

    @property
    def jitter(self) -> JitterSettings:
        """The crops' jitter (reference resize/crop/flip, then the classic policies)."""
        return JitterSettings(self.load_size, self.crop_size, self.flip, self.classic_policies, self.classic_contrast)


def generator_snapshot_due(epoch: int, every: int, epochs: int) -> bool:
    """Every `every`-th epoch and the last one (so the curve ends at the final generator); 0: never."""
    return every > 0 and (epoch % every == 0 or epoch == epochs)


def checkpoint_due(epoch: int, every: int, epochs: int) -> bool:
    """Every `every`-th epoch and the last one (so a finished run always has its final state)."""
    return epoch % every == 0 or epoch == epochs


def augment_seed(seed: int, epoch: int, rank: int) -> int:
    """Seed of the augmentation draws of one epoch on one rank: fixed by (seed, epoch, rank), so a
    resumed run (which restarts at an epoch boundary) draws what an uninterrupted one would."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


class CycleGANTrainer:
    """Owns the four networks, their optimisers and pools, and runs epochs on one process."""

    def __init__(
        self, settings: CycleGANSettings, dist: Distributed, crops_a: Path, crops_b: Path, out_dir: Path
    ) -> None:
        if settings.amp == "fp16" and dist.name == "horovod":
            # the scaler would unscale gradients that horovod is still averaging in the background
            raise DataError("amp: fp16 is not supported with the horovod backend; use bf16 (no scaler needed)")
        self.settings, self.dist, self.paths = settings, dist, RunPaths(out_dir)
        self.files_a, self.files_b = list_crops(crops_a), list_crops(crops_b)
        self.jitter = settings.jitter
        augmentation = settings.augmentation
        self.augment_rng = torch.Generator().manual_seed(augment_seed(settings.seed, 0, dist.rank))
        self.diffaug = DiffAugment(parse_policy(augmentation.diffaug_policy), self.augment_rng)
        self.bcr_transform = DiffAugment(parse_policy(augmentation.bcr_policy), self.augment_rng)
        if augmentation.lambda_bcr > 0 and not self.bcr_transform.policy:
            raise DataError("lambda_bcr > 0 needs a bcr_policy (the transform T of bCR), e.g. 'translation'")
        torch.manual_seed(settings.seed)  # same initial weights on every rank, and broadcast anyway
        device = dist.device
        memory_format = torch.channels_last if settings.channels_last else torch.contiguous_format
        net = settings.network
        self.models = {
            "G_A": define_generator(net.generator, net.ngf),
            "G_B": define_generator(net.generator, net.ngf),
            "D_A": define_discriminator(net.discriminator, net.ndf),
            "D_B": define_discriminator(net.discriminator, net.ndf),
        }
        for model in self.models.values():
            model.to(device=device, memory_format=memory_format)
        dist.broadcast_state(self.models.values())
        # forward passes go through the backend's wrapper (DDP for torch) and, when asked, torch.compile;
        # parameters, state dicts and optimisers stay on the plain modules, so checkpoints are the same
        self.wrapped = {name: dist.wrap_model(model) for name, model in self.models.items()}
        self.forward = {name: torch.compile(model) if settings.compile else model for name, model in self.wrapped.items()}
        generators = itertools.chain(self.models["G_A"].parameters(), self.models["G_B"].parameters())
        discriminators = itertools.chain(self.models["D_A"].parameters(), self.models["D_B"].parameters())
        # fused Adam on CUDA: one kernel for all parameters instead of a launch per tensor. On the CPU
        # foreach (grouped tensor ops; bit-identical losses, ~1.05x the step) and not fused, whose
        # different rounding turns the near-zero gradients of biases before an instance norm into
        # lr-sized updates (benchmarks/RESULTS.md, "CycleGAN step levers on the CPU")
        optimiser = settings.optimiser
        cuda = device.type == "cuda"
        adam = {"lr": optimiser.lr, "betas": (optimiser.beta1, optimiser.beta2), "fused": cuda, "foreach": not cuda}
        k = settings.simulate_processes
        self.opt_g = dist.wrap_optimizer(torch.optim.Adam(generators, **adam),
                                         _Pair(self.models["G_A"], self.models["G_B"]), "G", backward_passes=k)
        adam_d = {**adam, "lr": optimiser.lr * optimiser.lr_d_factor}  # `_set_lr` keeps the factor
        self.opt_d = dist.wrap_optimizer(torch.optim.Adam(discriminators, **adam_d),
                                         _Pair(self.models["D_A"], self.models["D_B"]), "D", backward_passes=k)
        self.pools = {  # each rank and domain its own reproducible stream
            name: ImagePool(settings.pool_size, torch.Generator().manual_seed(settings.seed * 10_000 + dist.rank * 2 + i))
            for i, name in enumerate(("A", "B"))
        }
        self.scaler = torch.amp.GradScaler(device.type, enabled=settings.amp == "fp16")
        self.metrics: list[dict[str, float]] = []
        self.start_epoch = 0  # epochs done (in the checkpoint resumed from) ...
        self.start_step = 0  # ... and steps done of the next one (a checkpoint written on a stop signal)
        self.resumed_epoch: dict | None = None  # that epoch's loss sums and augmentation random state
        self.stop_signal: int | None = None  # the first stop signal this process received
        self.stopping = False  # the ranks agreed to stop at the end of the current epoch
        self._vote = None  # the stop vote cast after the previous step
        self._order = EpochOrder()
        self._data: DataLoader | None = None
        self.sample_inputs = self._sample_inputs()

    # ----------------------------------------------------------------- schedule
    @property
    def processes(self) -> int:
        """Data-parallel processes, simulated ones included (what scales the total batch)."""
        return self.dist.world_size * self.settings.simulate_processes

    def learning_rate(self, epoch: int, progress: float) -> float:
        """The generators' rate at `progress` (fraction done) of 0-based `epoch`; D's is lr_d_factor x it."""
        o = self.settings.optimiser
        scaled = lr_for(o.lr, self.processes, o.lr_scaling)
        warm = warmed_up_lr(o.lr, scaled, epoch + progress, o.warmup_epochs, o.warmup_start)
        return warm * decay_factor(o.lr_policy, epoch, o.n_epochs, o.n_epochs_decay, o.lr_step_fractions)

    def _set_lr(self, lr: float) -> None:
        for optimizer, factor in ((self.opt_g, 1.0), (self.opt_d, self.settings.lr_d_factor)):
            for group in optimizer.param_groups:
                group["lr"] = lr * factor

    @property
    def training_samples(self) -> int:
        """Distinct samples of an epoch: the larger domain's crops (`D` of the sharding)."""
        return max(len(self.files_a), len(self.files_b))

    def batch_fraction(self) -> float:
        """The total batch over the distinct training samples (`schedule.batch_fraction`)."""
        return batch_fraction(self.settings.batch_size, self.processes, self.training_samples)

    def batch_warning(self) -> str | None:
        """Paper 004's warning sign, or None when the total batch is within `batch_fraction_warning`."""
        fraction, limit = self.batch_fraction(), self.settings.batch_fraction_warning
        if fraction <= limit:
            return None
        return (f"total batch {self.settings.batch_size} x {self.processes} processes is {fraction:.1%} of the "
                f"{self.training_samples} training samples, beyond {limit:.0%}: paper 004 "
                "saw accuracy fall past ~9%")

    # ----------------------------------------------------------------- one step
    def _autocast(self):
        if self.settings.amp == "none":
            return nullcontext()
        return torch.autocast(self.dist.device.type, dtype=AMP_DTYPES[self.settings.amp])

    def _generator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor) -> tuple[dict, torch.Tensor, torch.Tensor]:
        """The reference's generator terms from 3 generator calls where it makes 6 (4 without the
        identity terms): the inputs that do not depend on each other share one batched call
        (`_batched`): G_A on (real_a, real_b), then G_B on (real_b, fake_b, real_a), then G_A on fake_a."""
        m, s = self.forward, self.settings
        identity = s.lambda_identity > 0
        with self._autocast():
            if identity:
                fake_b, idt_a = _batched(m["G_A"], real_a, real_b)
                fake_a, rec_a, idt_b = _batched(m["G_B"], real_b, fake_b, real_a)
            else:
                fake_b = m["G_A"](real_a)
                fake_a, rec_a = _batched(m["G_B"], real_b, fake_b)
            rec_b = m["G_A"](fake_a)
            losses = {
                "G_A": lsgan_loss(m["D_A"](self.diffaug(fake_b)), True),
                "G_B": lsgan_loss(m["D_B"](self.diffaug(fake_a)), True),
                "cycle_A": cycle_loss(rec_a, real_a) * s.lambda_cycle,
                "cycle_B": cycle_loss(rec_b, real_b) * s.lambda_cycle,
            }
            if identity:
                weight = s.lambda_cycle * s.lambda_identity
                losses["idt_A"] = identity_loss(idt_a, real_b) * weight
                losses["idt_B"] = identity_loss(idt_b, real_a) * weight
        return losses, fake_a.detach(), fake_b.detach()

    def _discriminator_loss(self, name: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Halved LSGAN loss on the (augmented) batches (the reference's; see the module docstring),
        plus lambda_bcr x bCR's term for each."""
        s = self.settings
        with self._autocast():
            model = self.forward[name]
            real, fake = self.diffaug.pair(real, fake, s.diffaug_shared)
            real_scores, fake_scores = _batched(model, real, fake)  # one call (`_batched`)
            loss = (lsgan_loss(real_scores, True) + lsgan_loss(fake_scores, False)) * 0.5
            if s.lambda_bcr > 0:
                loss = loss + s.lambda_bcr * (consistency_loss(model, real, real_scores, self.bcr_transform)
                                              + consistency_loss(model, fake, fake_scores, self.bcr_transform))
            return loss

    def _accumulating(self, last: bool) -> AbstractContextManager:
        """All but the last of k accumulated samples only accumulate gradients (DDP's no_sync)."""
        return nullcontext() if last else self.dist.accumulating(self.wrapped.values())

    def train_step(self, micro_batches: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """One optimiser step of G then D over `micro_batches` (k > 1 when simulating k processes)."""
        m, k = self.models, len(micro_batches)
        totals = dict.fromkeys(LOSS_NAMES, 0.0)
        set_requires_grad([m["D_A"], m["D_B"]], False)
        self.opt_g.zero_grad()
        fakes = []
        for i, (real_a, real_b) in enumerate(micro_batches):
            with self._accumulating(last=i == k - 1):
                losses, fake_a, fake_b = self._generator_losses(real_a, real_b)
                self.scaler.scale(sum(losses.values()) / k).backward()
            fakes.append((real_a, real_b, fake_a, fake_b))
            for name, value in losses.items():
                totals[name] += value.detach() / k
        self.scaler.step(self.opt_g)  # gradients are averaged over the ranks by now (or inside step)

        set_requires_grad([m["D_A"], m["D_B"]], True)
        self.opt_d.zero_grad()
        for i, (real_a, real_b, fake_a, fake_b) in enumerate(fakes):
            with self._accumulating(last=i == k - 1):
                loss_d_a = self._discriminator_loss("D_A", real_b, self.pools["B"].query(fake_b))
                loss_d_b = self._discriminator_loss("D_B", real_a, self.pools["A"].query(fake_a))
                self.scaler.scale((loss_d_a + loss_d_b) / k).backward()
            totals["D_A"] += loss_d_a.detach() / k
            totals["D_B"] += loss_d_b.detach() / k
        self.scaler.step(self.opt_d)
        self.scaler.update()
        return totals  # tensors: read once per epoch, so the inner loop never waits on the device

    # ----------------------------------------------------------------- epochs
    def _loader(self, epoch: int, start_step: int = 0) -> DataLoader:
        """The run's one loader, set to `epoch`'s shard from step `start_step` on. Its workers
        persist across epochs: the sampler (`EpochOrder`, in this process) hands them each item's
        full key, so they keep no state of their own."""
        s, d = self.settings, self.dist
        if self._data is None:
            self._data = DataLoader(
                KeyedCrops(self.files_a, self.files_b, self.jitter), batch_size=s.batch_size, sampler=self._order,
                drop_last=True, num_workers=s.num_workers, pin_memory=d.device.type == "cuda",
                persistent_workers=s.num_workers > 0,
            )
        shard = shard_indices(self.training_samples, d.world_size, d.rank, s.scale, epoch, s.seed)
        self._order.set_epoch(shard, (s.seed, epoch, d.rank), start_step * s.simulate_processes * s.batch_size)
        return self._data

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """Train one epoch (from `start_step` when resuming mid-epoch) and return its metrics row.
        On an agreed stop before its last step: write a checkpoint of that step and raise
        `TrainingStopped`; on one at its last step: set `stopping` (fit checkpoints, then stops)."""
        start = self.start_step if epoch == self.start_epoch else 0
        loader = self._loader(epoch, start)
        self.augment_rng.manual_seed(augment_seed(self.settings.seed, epoch, self.dist.rank))
        sums = dict.fromkeys(LOSS_NAMES, 0.0)
        if start:
            self.augment_rng.set_state(self.resumed_epoch["augment_rng"])
            sums = dict(self.resumed_epoch["sums"])
        k = self.settings.simulate_processes
        steps = self._order.size // self.settings.batch_size // k
        if steps == 0:
            raise DataError(f"a shard of {self._order.size} crops is too small for batch "
                            f"{self.settings.batch_size} x simulate_processes {k}")
        started = time.perf_counter()
        batches = iter(loader)
        bar = tqdm(range(start, steps), desc=f"epoch {epoch + 1}/{self.settings.epochs}", total=steps, initial=start,
                   disable=not self.dist.is_main, mininterval=5)
        memory_format = torch.channels_last if self.settings.channels_last else torch.contiguous_format
        stop, step = False, start - 1
        for step in bar:
            self._set_lr(self.learning_rate(epoch, step / steps))
            micro = []
            for _ in range(k):
                real_a, real_b = next(batches)
                micro.append(tuple(t.to(self.dist.device, non_blocking=True, memory_format=memory_format)
                                   for t in (real_a, real_b)))
            for name, value in self.train_step(micro).items():
                sums[name] = sums[name] + value
            stop = self._stop_agreed(cast_next=True)
            if stop:
                break
        done = step + 1
        if stop and done < steps:
            self.save_checkpoint(epoch, done, sums)
            raise self._stopped(epoch, done)
        self.stopping = stop or self._stop_agreed(cast_next=False)  # waits for the last step's vote
        # averaged first, so every rank sees the same NaN and stops together (none waits in a collective)
        means = self.dist.average({name: float(value) / steps for name, value in sums.items()})
        bad = [name for name, value in means.items() if not math.isfinite(value)]
        if bad:
            raise TrainingDiverged(f"loss {', '.join(bad)} is not finite in epoch {epoch + 1}; stopped. "
                                   f"{self._newest_finite_note()}")
        wall = time.perf_counter() - started
        images = (steps - start) * k * self.settings.batch_size * self.dist.world_size
        return {"epoch": epoch + 1, **means, "lr": self.learning_rate(epoch, 0.0), "images_per_s": images / wall,
                "wall_s": wall, "processes": self.dist.world_size, "simulated_processes": k}

    def fit(self) -> None:
        with self._holding_run_folder(), self._noting_stop_signals():
            try:
                self._fit()
            finally:
                self._data = None  # ends the loader's persistent workers
        self.dist.barrier()

    def _fit(self) -> None:
        self.resume()
        s = self.settings
        warning = self.batch_warning()
        if warning and self.dist.is_main:
            log.warning("%s", warning)
        if self.start_epoch >= s.epochs and self.dist.is_main:
            log.warning("all %d epochs are in %s already: writing its outputs again without training "
                        "(delete that folder to train this run afresh)", s.epochs, self.paths.checkpoints)
        for epoch in range(self.start_epoch, s.epochs):
            row = self.train_epoch(epoch)
            self.metrics.append(row)
            done = epoch + 1
            if self.dist.is_main:
                log.info("epoch %d: %s", done, ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"))
            self.write_generator_snapshot(done)
            if checkpoint_due(done, s.checkpoint_every, s.epochs) or self.stopping:
                self.save_checkpoint(done)
            if self.dist.is_main:
                self.write_samples(done)
                self.write_metrics()
            if self.stopping:
                raise self._stopped(done, 0)
        if self.dist.is_main:
            self.write_metrics()  # also after a resume that had nothing left to train
            self.write_final()

    # ----------------------------------------------------------------- faults
    @contextmanager
    def _holding_run_folder(self) -> Iterator[None]:
        """Rank 0 holds the run folder's lock while training; every rank fails together when it is
        held by another training (a rerun started while the killed run's processes still live)."""
        fd, error = None, None
        if self.dist.is_main:
            try:
                fd = lock_run_folder(self.paths.root)
            except DataError as err:
                error = err
        if self.dist.average({"busy": float(error is not None)})["busy"] > 0:
            raise error or DataError(f"run folder {self.paths.root} is in use by another training (see rank 0)")
        try:
            yield
        finally:
            if fd is not None:
                os.close(fd)

    @contextmanager
    def _noting_stop_signals(self) -> Iterator[None]:
        """While training, SIGTERM, SIGINT and SIGHUP only note that a stop was asked
        (`stop_signal`); the step loop then stops all ranks after the same step. Repeats are
        ignored: torchrun sends SIGTERM again when it is itself signalled twice, and a second one
        must not cut the checkpoint short (SIGKILL ends a stuck run). A signal this process
        ignores (SIGHUP under nohup) stays ignored."""

        def note(signum: int, _frame: object) -> None:
            if self.stop_signal is None:
                self.stop_signal = signum
                log.warning("%s received: stopping after the current step with a checkpoint",
                            signal.Signals(signum).name)

        with handling_signals(STOP_SIGNALS, note):
            yield

    def _stop_agreed(self, cast_next: bool) -> bool:
        """Whether some rank had been asked to stop when the previous step ended (the vote cast
        then, read now so the collective ran behind this step); then casts this step's vote."""
        agreed = self._vote.result() if self._vote is not None else False
        self._vote = self.dist.vote(self.stop_signal is not None) if cast_next and not agreed else None
        return agreed

    def _stopped(self, epoch: int, step: int) -> TrainingStopped:
        signum = self.stop_signal or signal.SIGTERM  # another rank's signal, forwarded to this one too
        if self.dist.is_main:
            log.warning("stopped on %s: %s holds the state after %d epochs and %d steps; rerun the same "
                        "command to resume", signal.Signals(signum).name, self.paths.checkpoint(epoch, step),
                        epoch, step)
        return TrainingStopped(128 + signum)

    def _nonfinite(self) -> list[str]:
        """The networks, optimisers and pools holding a NaN or an infinity on any rank (all agree)."""
        groups = {name: list(model.parameters()) for name, model in self.models.items()}
        for name, optimizer in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            groups[name] = [v for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v)]
        for name, pool in self.pools.items():
            groups[f"pool_{name}"] = pool.images
        finite = torch.stack([_finite(tensors, self.dist.device) for tensors in groups.values()])
        votes = self.dist.average({name: float(not ok) for name, ok in zip(groups, finite.tolist())})
        return [name for name, value in votes.items() if value > 0]

    def _require_finite(self, epoch: int, step: int = 0) -> None:
        """Raise TrainingDiverged on every rank unless the whole state is finite: called before any
        checkpoint or snapshot is written, so none on disk is ever poisoned."""
        bad = self._nonfinite()
        if bad:
            where = f"epoch {epoch}" + (f" and {step} steps" if step else "")
            raise TrainingDiverged(f"{', '.join(bad)} hold NaN or infinite values after {where}; stopped before "
                                   f"writing them. {self._newest_finite_note()}")

    def _newest_finite_note(self) -> str:
        if not self.dist.is_main:
            return "Rank 0 names the newest finite checkpoint."
        newest = self.newest_finite_checkpoint()
        return (f"The newest finite checkpoint on disk is {newest or 'none yet'} (a rerun resumes from the newest "
                "checkpoint): lower lr or disable amp, then rerun")

    def newest_finite_checkpoint(self) -> Path | None:
        """The newest checkpoint on disk whose tensors, pool files included, are all finite (read
        back, since an older version of this code wrote non-finite ones)."""
        for path in reversed(self._checkpoints()):
            files = [path, *path.parent.glob(f"{path.stem}.pool*.pt")]
            if all(_all_finite(torch.load(f, map_location="cpu", weights_only=True)) for f in files):
                return path
        return None

    # ----------------------------------------------------------------- state
    def state(self, epoch: int, step: int = 0) -> dict:
        return {
            "epoch": epoch,
            "step": step,
            "models": {name: model.state_dict() for name, model in self.models.items()},
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "metrics": self.metrics,
            "settings": asdict(self.settings),
            "world_size": self.dist.world_size,
        }

    def save_checkpoint(self, epoch: int, step: int = 0, sums: dict | None = None) -> None:
        """Checkpoint the state after `epoch` epochs and `step` steps of the next (with that epoch's
        loss `sums` so far). Rank 0 writes the shared state, every rank its own pools, random state
        and loss sums, in parallel (they differ per rank; float32 as the pools hold them, so a resume
        is exact); checkpoints beyond the newest `keep_checkpoints` are removed."""
        self._require_finite(epoch, step)
        self.paths.checkpoints.mkdir(parents=True, exist_ok=True)
        rank_state = {name: pool.state_dict() for name, pool in self.pools.items()}
        rank_state.update(augment_rng=self.augment_rng.get_state(), sums=sums)
        atomic_save(rank_state, self.paths.pool_state(epoch, self.dist.rank, step))
        self.dist.barrier()
        if self.dist.is_main:
            atomic_save(self.state(epoch, step), self.paths.checkpoint(epoch, step))
            for old in self._checkpoints()[: -self.settings.keep_checkpoints]:
                for path in self.paths.checkpoints.glob(old.stem + ".*"):
                    path.unlink()
        self.dist.barrier()

    def _checkpoints(self) -> list[Path]:
        """The shared-state checkpoints, oldest first (each has per-rank pool files beside it)."""
        return self.paths.saved_checkpoints()

    def _latest_checkpoint(self) -> Path | None:
        found = self._checkpoints()
        return found[-1] if found else None

    def resume(self) -> None:
        latest = self._latest_checkpoint()
        if latest is None:
            return
        state = torch.load(latest, map_location=self.dist.device, weights_only=True)
        current = asdict(self.settings)
        changed = sorted(k for k, v in state["settings"].items() if current.get(k) != v)
        if set(changed) & ARCHITECTURE:
            raise DataError(f"checkpoint {latest} holds a different model ({', '.join(sorted(set(changed) & ARCHITECTURE))} "
                            f"changed); delete {self.paths.checkpoints} to start this run afresh")
        if changed and self.dist.is_main:
            log.warning("resuming %s with changed settings: %s", latest, ", ".join(changed))
        if state["world_size"] != self.dist.world_size:
            raise DataError(f"checkpoint {latest} was written by {state['world_size']} processes, this run has "
                            f"{self.dist.world_size}; resume with the same number or start a new run folder")
        step = state.get("step", 0)
        if step and set(changed) & set(DATA_ORDER):
            raise DataError(f"checkpoint {latest} stopped in the middle of an epoch, and "
                            f"{', '.join(sorted(set(changed) & set(DATA_ORDER)))} changed which samples its steps "
                            f"see; delete it to resume from the epoch checkpoint before it")
        for name, model in self.models.items():
            model.load_state_dict(state["models"][name])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.scaler.load_state_dict(state["scaler"])
        rank_state = torch.load(self.paths.pool_state(state["epoch"], self.dist.rank, step), weights_only=True)
        for name, pool in self.pools.items():
            pool.load_state_dict(rank_state[name])
        for optimizer in (self.opt_g, self.opt_d):
            self.dist.broadcast_optimizer(optimizer)
        self.metrics = list(state["metrics"])
        self.start_epoch, self.start_step = state["epoch"], step
        if step:
            self.resumed_epoch = {"sums": rank_state["sums"], "augment_rng": rank_state["augment_rng"]}
        if self.dist.is_main:
            log.info("resumed from %s (%d epochs and %d steps done)", latest, self.start_epoch, step)

    # ----------------------------------------------------------------- outputs
    def _sample_inputs(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The first `sample_count` crops of each domain, paired: the same ones every epoch."""
        size = self.settings.crop_size

        def load(path: Path) -> torch.Tensor:
            return to_tensor(cv2.resize(read_rgb(path), (size, size), interpolation=cv2.INTER_AREA))

        count = self.settings.sample_count
        return [(load(a), load(b)) for a, b in zip(self.files_a[:count], self.files_b[:count])]

    @torch.no_grad()
    def write_samples(self, epoch: int) -> None:
        """A grid per epoch, the reference CycleGAN's visuals: each row is real_A, fake_B, rec_A,
        idt_B (G_B(real_A)), then real_B, fake_A, rec_B, idt_A (G_A(real_B)); A is CG, B is real.
        The identity images show how much each generator changes an image already in its target
        domain, which the identity loss is there to keep small."""
        g_a, g_b = self.models["G_A"], self.models["G_B"]
        rows = []
        for real_a, real_b in self.sample_inputs:
            real_a, real_b = real_a.unsqueeze(0).to(self.dist.device), real_b.unsqueeze(0).to(self.dist.device)
            fake_b, fake_a = g_a(real_a), g_b(real_b)
            panels = (real_a, fake_b, g_b(fake_b), g_b(real_a), real_b, fake_a, g_a(fake_a), g_a(real_b))
            rows.append(np.concatenate([to_image(t[0]) for t in panels], axis=1))
        self.paths.samples.mkdir(parents=True, exist_ok=True)
        grid = cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(self.paths.sample(epoch)), grid)

    def write_generator_snapshot(self, epoch: int) -> None:
        """G_A of this epoch when due (called on every rank: the finite check is collective; rank 0
        writes). Written before the epoch's checkpoint: a kill in between reruns the epoch (resume
        starts after the newest checkpoint), which rewrites the same snapshot."""
        if generator_snapshot_due(epoch, self.settings.save_generator_every, self.settings.epochs):
            self._require_finite(epoch)
            if self.dist.is_main:
                self.paths.generator_snapshots.mkdir(parents=True, exist_ok=True)
                atomic_save(self.models["G_A"].state_dict(), self.paths.generator_snapshot(epoch))

    def write_metrics(self) -> None:
        with self.paths.metrics.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(self.metrics[0]))
            writer.writeheader()
            writer.writerows(self.metrics)

    def write_final(self) -> None:
        torch.save(self.models["G_A"].state_dict(), self.paths.generator_cg2real)
        torch.save(self.models["G_B"].state_dict(), self.paths.generator_real2cg)
        card = ModelCard(generator=self.settings.generator, ngf=self.settings.ngf, a="cg", b="real",
                         epochs=self.settings.epochs, processes=self.dist.world_size,
                         total_batch=self.settings.batch_size * self.processes,
                         batch_fraction=round(self.batch_fraction(), 6), warning=self.batch_warning())
        write_model_card(card, self.paths.model_card)


def _batched(model: torch.nn.Module, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """`model` on `inputs` concatenated along the batch, split back into one output per input.

    Per sample the same as one call per input, up to float rounding: every norm in
    `cg2real.cyclegan.networks` is an instance norm, which keeps no batch statistics. One call on a
    batch of 2-3 costs less than 2-3 calls on the CPU (fewer ops, better-filled convolutions) and
    launches fewer kernels on a GPU; DDP is indifferent to how often a wrapped module is called.
    """
    return model(torch.cat(inputs)).split([len(x) for x in inputs])


def _finite(tensors: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """Whether every element of `tensors` is finite, as one boolean on `device` (all groups are
    read back at once: one device sync per check). A tensor's max-norm is NaN or infinite exactly
    when one of its elements is; it reads the tensor once and allocates nothing of its size."""
    norms = [torch.linalg.vector_norm(t, float("inf")).float().to(device)
             for t in tensors if t.is_floating_point() and t.numel()]
    return torch.isfinite(torch.stack(norms)).all() if norms else torch.tensor(True, device=device)


def _all_finite(tree: object) -> bool:
    """Whether every floating-point tensor in a checkpoint's nested dicts and lists is finite."""
    if isinstance(tree, dict):
        return all(_all_finite(value) for value in tree.values())
    if isinstance(tree, list | tuple):
        return all(_all_finite(value) for value in tree)
    return not (torch.is_tensor(tree) and tree.is_floating_point()) or bool(torch.isfinite(tree).all())


class _Pair(torch.nn.Module):
    """Two networks seen as one module, so horovod names their parameters uniquely."""

    def __init__(self, first: torch.nn.Module, second: torch.nn.Module) -> None:
        super().__init__()
        self.first, self.second = first, second
