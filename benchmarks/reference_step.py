"""Our CycleGAN training step against a plain re-implementation of the reference's step math.

The reference (Zhu et al.'s pytorch-CycleGAN-and-pix2pix, `CycleGANModel.optimize_parameters`)
does, per batch: forward G_A(real_A), G_B(real_B) and both reconstructions; with D_A and D_B
frozen, the generator loss = LSGAN(D_A(fake_B)) + LSGAN(D_B(fake_A)) + lambda * (two L1 cycle
terms) + lambda * lambda_idt * (two L1 identity terms), one backward, one Adam step for both
generators; then D_A on (real_B, pool(fake_B)) and D_B on (real_A, pool(fake_A)), each loss
(real + fake) * 0.5 with its own backward, one Adam step for both discriminators; Adam betas
(0.5, 0.999). `reference_step` below is written from that description (no code copied), on the
same networks (`cg2real.cyclegan.networks`, the reference architecture), so the only difference
to `CycleGANTrainer.train_step` is the training-loop code around the same convolutions.

Both run in this one process, fp32 on the CPU, batch 1, the same crop and the same starting
weights, with 1 and 2 intra-op threads. Our step batches independent inputs into one call
(`train._batched`: G_A on real_A and real_B at once, each D on real and pooled fake at once), which
changes the float rounding, not the math. So "the same step" is checked, and printed, as: one step
of each from the same weights gives the same losses within `LOSS_RTOL` (relative) and the same
parameters within `PARAMETER_ATOL`, except where the step is decided by rounding noise: Adam's first
update is about lr times the gradient's sign, so an element whose gradient is noise moves by +-lr
either way. Those are (1) every convolution bias directly before an instance norm (`dead_biases`,
found from the structure): the norm subtracts it again, so its true gradient is 0; (2) the few
weight elements whose reference gradient is below `NOISE_FLOOR` times their tensor's largest
(a true gradient that cancels to within float32 rounding); how many is printed too. No timing runs
if that check fails. After a warm-up, blocks of N steps of each alternate, in alternating order, so
that load from other programs on a shared machine hits both alike; the ratio of each pair of
blocks is also taken per CPU second of this process, which other programs do not disturb.

`--levers` instead times our step against itself with one lever pulled (issue 19), each lever on
its own trainer from the same weights, in round-robin blocks: Adam one tensor at a time
(`foreach=False`, torch's CPU default and the reference's) or `fused=True` (the trainer's CPU Adam
is foreach; fused is its CUDA choice), `channels_last: true` (inputs converted each step, as
`train_epoch` does), `compile: true` (the trainer compiles the four networks' forwards) and
`torch.compile` of the whole `train_step`, with the first step's and the warm-up's seconds (compilation) and how far
each lever's parameters are from the shipped step's after the warm-up.

    python benchmarks/reference_step.py [--size 64] [--ngf 16] [--steps 10] [--repeats 25] [--threads 1 2]
    python benchmarks/reference_step.py --levers adam [channels-last] [compile] [compile-step] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml
from torch.nn import functional as F

from cg2real.cyclegan.distributed import Distributed
from cg2real.cyclegan.train import CycleGANSettings, CycleGANTrainer
from cg2real.settings import settings_from_mapping

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"


class HistoryPool:
    """The image history of Shrivastava et al.: fill to `size`, then 50/50 return a stored image
    (replacing it with the new one) or the new image."""

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.images, self.random = size, [], random.Random(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif self.random.random() < 0.5:
                index = self.random.randrange(len(self.images))
                out.append(self.images[index].clone())
                self.images[index] = image
            else:
                out.append(image)
        return torch.stack(out)


LOSS_RTOL = 1e-5  # relative: float32 rounding of differently batched convolutions, with room to spare
PARAMETER_ATOL = 1e-6  # absolute, after one Adam step of lr 2e-4, which moves a live parameter by ~lr
NOISE_FLOOR = 1e-5  # a gradient element below this x its tensor's largest is rounding noise (float32: ~1e-7)


def lsgan(prediction: torch.Tensor, real: bool) -> torch.Tensor:
    return F.mse_loss(prediction, torch.full_like(prediction, 1.0 if real else 0.0))


class ReferenceStep:
    """The reference's optimisation step, on our four networks (copies, so both start alike)."""

    def __init__(self, models: dict[str, torch.nn.Module], settings: CycleGANSettings) -> None:
        self.g_a, self.g_b, self.d_a, self.d_b = (copy.deepcopy(models[n]) for n in ("G_A", "G_B", "D_A", "D_B"))
        self.s = settings
        betas = (settings.beta1, settings.beta2)
        self.opt_g = torch.optim.Adam(itertools.chain(self.g_a.parameters(), self.g_b.parameters()), settings.lr, betas)
        self.opt_d = torch.optim.Adam(itertools.chain(self.d_a.parameters(), self.d_b.parameters()), settings.lr, betas)
        self.pool_a, self.pool_b = HistoryPool(settings.pool_size, 1), HistoryPool(settings.pool_size, 2)

    def _freeze_d(self, frozen: bool) -> None:
        for p in itertools.chain(self.d_a.parameters(), self.d_b.parameters()):
            p.requires_grad_(not frozen)

    def _backward_d(self, net: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        loss = (lsgan(net(real), True) + lsgan(net(fake.detach()), False)) * 0.5
        loss.backward()
        return loss

    def __call__(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """One step; its losses under the trainer's names (`train.LOSS_NAMES`)."""
        s = self.s
        fake_b = self.g_a(real_a)
        rec_a = self.g_b(fake_b)
        fake_a = self.g_b(real_b)
        rec_b = self.g_a(fake_a)
        # generators, discriminators frozen
        self._freeze_d(True)
        self.opt_g.zero_grad()
        losses = {"G_A": lsgan(self.d_a(fake_b), True), "G_B": lsgan(self.d_b(fake_a), True),
                  "cycle_A": F.l1_loss(rec_a, real_a) * s.lambda_cycle,
                  "cycle_B": F.l1_loss(rec_b, real_b) * s.lambda_cycle}
        if s.lambda_identity > 0:  # the reference skips the identity forwards without the term
            idt_weight = s.lambda_cycle * s.lambda_identity
            losses["idt_A"] = F.l1_loss(self.g_a(real_b), real_b) * idt_weight
            losses["idt_B"] = F.l1_loss(self.g_b(real_a), real_a) * idt_weight
        sum(losses.values()).backward()
        self.opt_g.step()
        # discriminators on pooled fakes
        self._freeze_d(False)
        self.opt_d.zero_grad()
        losses["D_A"] = self._backward_d(self.d_a, real_b, self.pool_b.query(fake_b))
        losses["D_B"] = self._backward_d(self.d_b, real_a, self.pool_a.query(fake_a))
        self.opt_d.step()
        return {name: loss.detach() for name, loss in losses.items()}


def demo_settings(generator: str, ngf: int, size: int) -> CycleGANSettings:
    """config.yaml's CycleGAN defaults with this architecture and crop, fp32, no compile."""
    return settings_from_mapping(CycleGANSettings, {
        **yaml.safe_load(CONFIG.read_text())["cyclegan"]["defaults"],
        "generator": generator, "ngf": ngf, "ndf": ngf, "load_size": size, "crop_size": size,
        "amp": "none", "channels_last": False, "compile": False}, "cyclegan")


def random_batches(size: int, count: int = 8, batch: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """`count` seeded (real_a, real_b) pairs of `batch` images in [-1, 1], on the CPU."""
    generator = torch.Generator().manual_seed(0)
    return [tuple(torch.rand(batch, 3, size, size, generator=generator) * 2 - 1 for _ in range(2))
            for _ in range(count)]


def make_trainer(settings: CycleGANSettings, folder: Path,
                 device: torch.device = torch.device("cpu")) -> CycleGANTrainer:
    """Our trainer on one process (`Distributed`: every collective is the identity)."""
    for domain in ("a", "b"):
        (folder / domain).mkdir(parents=True)
        cv2.imwrite(str(folder / domain / "0000.png"), np.zeros((settings.crop_size,) * 2 + (3,), np.uint8))
    return CycleGANTrainer(settings, Distributed(device), folder / "a", folder / "b", folder / "out")


def timed(step, batches: list[tuple[torch.Tensor, torch.Tensor]], steps: int) -> tuple[float, float]:
    """Steps per second over `steps` steps: per wall-clock second, and per CPU second of this
    process (all its threads; time the scheduler gives to other programs does not count)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(steps):
        step(*batches[i % len(batches)])
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def with_adam(trainer: CycleGANTrainer, **flags: bool) -> CycleGANTrainer:
    """The trainer with both Adams rebuilt over the same parameters and hyperparameters plus `flags`
    (foreach=False or fused=True; the trainer's own CPU Adam is foreach=True).
    Call before the first step: the new optimisers start without state, like the old ones."""
    for name in ("opt_g", "opt_d"):
        groups = [{"params": g["params"], "lr": g["lr"], "betas": g["betas"]}
                  for g in getattr(trainer, name).param_groups]
        setattr(trainer, name, torch.optim.Adam(groups, **flags))
    return trainer


ADAM_LEVERS = {"Adam one tensor at a time (foreach=False)": {"foreach": False}, "Adam fused=True": {"fused": True}}


def lever_steps(settings: CycleGANSettings, folder: Path,
                groups: list[str]) -> dict[str, tuple[CycleGANTrainer, Callable]]:
    """Each lever's trainer (all from the same initial weights) and its step function, the shipped one
    first. groups: "adam" (one tensor at a time, fused), "channels-last" (`channels_last: true`),
    "compile" (the trainer's `compile: true`: the four networks' forwards), "compile-step"
    (torch.compile of the whole train_step)."""
    shipped = make_trainer(settings, folder / "shipped")
    steps = {"shipped (foreach Adam, eager)": (shipped, shipped.train_step)}
    if "adam" in groups:
        for i, (name, flags) in enumerate(ADAM_LEVERS.items()):
            trainer = with_adam(make_trainer(settings, folder / f"adam{i}"), **flags)
            steps[name] = (trainer, trainer.train_step)
    if "channels-last" in groups:
        trainer = make_trainer(replace(settings, channels_last=True), folder / "channels_last")
        steps["channels_last: true"] = (trainer, lambda pairs, trainer=trainer: trainer.train_step(
            [tuple(t.contiguous(memory_format=torch.channels_last) for t in pair) for pair in pairs]))
    if "compile" in groups:
        trainer = make_trainer(replace(settings, compile=True), folder / "forwards")
        steps["compile: true (forwards)"] = (trainer, trainer.train_step)
    if "compile-step" in groups:
        trainer = make_trainer(settings, folder / "step")
        steps["torch.compile(train_step)"] = (trainer, torch.compile(trainer.train_step))
    return steps


def dead_biases(model: torch.nn.Module) -> set[str]:
    """Names of `model`'s convolution biases directly followed by an instance norm (`networks._norm`).

    The norm subtracts each channel's mean over the image, and the bias with it: the loss does not
    depend on such a bias, its true gradient is 0 and its computed one rounding noise. Found from the
    structure (a convolution and the next layer of the same Sequential), not from gradient sizes.
    """
    dead = set()
    for prefix, module in model.named_modules():
        if isinstance(module, torch.nn.Sequential):
            layers = list(module.named_children())
            for (name, layer), (_, following) in zip(layers, layers[1:]):
                if (isinstance(layer, torch.nn.Conv2d | torch.nn.ConvTranspose2d) and layer.bias is not None
                        and isinstance(following, torch.nn.InstanceNorm2d)):
                    dead.add(f"{prefix}.{name}.bias" if prefix else f"{name}.bias")
    return dead


@dataclass(frozen=True)
class StepGaps:
    """How far one step of ours is from one of the reference's, from the same weights and batch."""

    loss: float  # the largest relative difference of a loss
    parameter: float  # the largest absolute difference of a parameter element that was compared
    dead_biases: int  # bias tensors left out: directly before an instance norm
    noise_elements: int  # other elements left out: reference gradient below NOISE_FLOOR x its tensor's largest
    compared: int  # elements compared

    @property
    def same(self) -> bool:
        return self.loss <= LOSS_RTOL and self.parameter <= PARAMETER_ATOL

    def __str__(self) -> str:
        return (f"one step of each from the same weights: losses {self.loss:.1e} apart (relative; tolerance "
                f"{LOSS_RTOL:g}), parameters {self.parameter:.1e} apart (tolerance {PARAMETER_ATOL:g}) over "
                f"{self.compared} elements, leaving out the {self.dead_biases} convolution biases before an instance "
                f"norm (true gradient 0) and {self.noise_elements} weight elements whose gradient is below "
                f"{NOISE_FLOOR:g} x their tensor's largest (Adam's first step turns noise there into +-lr)")


def step_gaps(trainer: CycleGANTrainer, reference: ReferenceStep, batch: tuple[torch.Tensor, torch.Tensor]) -> StepGaps:
    """One step of each from the same weights on `batch`, compared (`StepGaps`). The reference's
    gradients are those its step left behind (each optimiser zeroes them only before its next step)."""
    theirs = reference(*batch)
    ours = trainer.train_step([batch])
    loss = max(abs(float(ours[name]) - float(value)) / max(abs(float(value)), 1e-12) for name, value in theirs.items())
    copies = {"G_A": reference.g_a, "G_B": reference.g_b, "D_A": reference.d_a, "D_B": reference.d_b}
    parameter, dead_count, noise, compared = 0.0, 0, 0, 0
    for name, model in trainer.models.items():
        dead, their_parameters = dead_biases(model), dict(copies[name].named_parameters())
        dead_count += len(dead)
        for key, mine in model.named_parameters():
            if key in dead:
                continue
            their = their_parameters[key]
            informative = their.grad.abs() > NOISE_FLOOR * their.grad.abs().max()
            noise += int((~informative).sum())
            compared += int(informative.sum())
            parameter = max(parameter, float((mine - their).detach()[informative].abs().max()))
    return StepGaps(loss, parameter, dead_count, noise, compared)


def parameter_gap(first: CycleGANTrainer, second: CycleGANTrainer) -> float:
    """The largest absolute difference between the two trainers' corresponding parameters."""
    return max((p - q).abs().max().item() for name, model in first.models.items()
               for p, q in zip(model.parameters(), second.models[name].parameters()))


def compare_levers(args: argparse.Namespace) -> None:
    """Our step with each lever, in round-robin blocks (each repeat starts at another lever), as
    ratios to the shipped step paired by repeat."""
    settings = demo_settings(args.generator, args.ngf, args.size)
    batches = random_batches(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        levers = lever_steps(settings, Path(tmp), args.levers)
        names = list(levers)
        torch.set_num_threads(args.threads[0])
        warmup, losses = {}, {}
        for name, (_, step) in levers.items():  # the warm-up steps of each from the same weights
            started, first, losses[name] = time.perf_counter(), 0.0, []
            for i in range(args.warmup):
                losses[name].append({key: float(value) for key, value in step([batches[i % len(batches)]]).items()})
                if i == 0:
                    first = time.perf_counter() - started
            warmup[name] = (first, time.perf_counter() - started)
        gaps = {name: parameter_gap(trainer, levers[names[0]][0]) for name, (trainer, _) in levers.items()}
        print(f"{args.generator} ngf = ndf = {args.ngf}, {args.size}x{args.size}, batch 1, fp32 CPU, config.yaml's "
              f"other CycleGAN settings; {args.repeats} round-robin blocks of {args.steps} steps after {args.warmup} "
              "warm-up steps; median (best) steps/s, median (range) of the ratios paired by block; against the "
              f"shipped step's over the {args.warmup} warm-up steps from the same weights: the largest relative "
              "difference of a loss, and the largest absolute difference of a parameter after them")
        print("| threads | lever | steps/s | vs shipped, wall (range) | vs shipped, CPU time (range) "
              "| first step s | warm-up s | loss gap | parameter gap |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for threads in args.threads:
            torch.set_num_threads(threads)
            found: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
            for repeat in range(args.repeats):
                for name in names[repeat % len(names):] + names[: repeat % len(names)]:
                    step = levers[name][1]
                    found[name].append(timed(lambda a, b, step=step: step([(a, b)]), batches, args.steps))
            for name in names:
                rates = [r[0] for r in found[name]]
                wall = [r[0] / s[0] for r, s in zip(found[name], found[names[0]])]
                cpu = [r[1] / s[1] for r, s in zip(found[name], found[names[0]])]
                loss_gap = max(abs(mine[key] - theirs[key]) / max(abs(theirs[key]), 1e-12)
                               for mine, theirs in zip(losses[name], losses[names[0]]) for key in theirs)
                print(f"| {threads} | {name} | {statistics.median(rates):.2f} ({max(rates):.2f}) "
                      f"| {statistics.median(wall):.3f} ({min(wall):.2f}-{max(wall):.2f}) "
                      f"| {statistics.median(cpu):.3f} ({min(cpu):.2f}-{max(cpu):.2f}) "
                      f"| {warmup[name][0]:.1f} | {warmup[name][1]:.1f} | {loss_gap:.1e} | {gaps[name]:.1e} |",
                      flush=True)


def compare_reference(args: argparse.Namespace) -> None:
    settings = demo_settings(args.generator, args.ngf, args.size)
    batches = random_batches(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = make_trainer(settings, Path(tmp))
        ours = lambda a, b: trainer.train_step([(a, b)])  # noqa: E731
        reference = ReferenceStep(trainer.models, settings)
        torch.set_num_threads(args.threads[0])
        gaps = step_gaps(trainer, reference, batches[0])
        if not gaps.same:
            raise SystemExit(f"not the reference's step: {gaps}")
        print(f"{args.generator} ngf = ndf = {args.ngf}, {args.size}x{args.size}, batch 1, fp32 CPU; "
              f"{args.repeats} alternating blocks of {args.steps} steps after {args.warmup} warm-up steps; "
              f"median (best) wall-clock steps/s, median (range) of the paired ratios; {gaps}")
        print("| threads | reference math steps/s | ours steps/s | ours / reference, wall (range) "
              "| ours / reference, CPU time (range) |")
        print("| --- | --- | --- | --- | --- |")
        for threads in args.threads:
            torch.set_num_threads(threads)
            timed(reference, batches, args.warmup)
            timed(ours, batches, args.warmup)
            ref, our = [], []
            for repeat in range(args.repeats):  # who goes first alternates too
                if repeat % 2:
                    our.append(timed(ours, batches, args.steps))
                ref.append(timed(reference, batches, args.steps))
                if not repeat % 2:
                    our.append(timed(ours, batches, args.steps))
            ref_rates, our_rates = [r[0] for r in ref], [o[0] for o in our]
            ratios = [o[0] / r[0] for o, r in zip(our, ref)]  # paired: same moment, same load
            cpu_ratios = [o[1] / r[1] for o, r in zip(our, ref)]
            print(f"| {threads} | {statistics.median(ref_rates):.2f} ({max(ref_rates):.2f}) "
                  f"| {statistics.median(our_rates):.2f} ({max(our_rates):.2f}) "
                  f"| {statistics.median(ratios):.3f} ({min(ratios):.2f}-{max(ratios):.2f}) "
                  f"| {statistics.median(cpu_ratios):.3f} ({min(cpu_ratios):.2f}-{max(cpu_ratios):.2f}) |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="crop size (square)")
    parser.add_argument("--ngf", type=int, default=16, help="ngf = ndf")
    parser.add_argument("--generator", default="resnet_6blocks")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed block")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps of each before timing")
    parser.add_argument("--repeats", type=int, default=25, help="timed blocks of each, alternating")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--levers", nargs="+", choices=("adam", "channels-last", "compile", "compile-step"),
                        default=None, help="compare our step's levers (Adam per tensor/fused; channels_last; compile "
                        "of the forwards, of the whole step) with the shipped step, instead of the reference's math")
    args = parser.parse_args()
    (compare_levers if args.levers else compare_reference)(args)


if __name__ == "__main__":
    main()
