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
weights (one step of each from them must give the same parameters: printed), with 1 and 2
intra-op threads. After a warm-up, blocks of N steps of each alternate, in alternating order, so
that load from other programs on a shared machine hits both alike; the ratio of each pair of
blocks is also taken per CPU second of this process, which other programs do not disturb.

`--levers` instead times our step against itself with one lever pulled (issue 19), each lever on
its own trainer from the same weights, in round-robin blocks: Adam with `foreach=True` or
`fused=True` (the trainer's CPU Adam is torch's default, one tensor at a time; fused is its CUDA
choice), `compile: true` (the trainer compiles the four networks' forwards) and `torch.compile` of
the whole `train_step`, with the first step's and the warm-up's seconds (compilation) and how far
each lever's parameters are from the shipped step's after the warm-up.

    python benchmarks/reference_step.py [--size 64] [--ngf 16] [--steps 10] [--repeats 25] [--threads 1 2]
    python benchmarks/reference_step.py --levers adam [compile] [compile-step] [--threads 1 2]
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
from dataclasses import replace
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

    def __call__(self, real_a: torch.Tensor, real_b: torch.Tensor) -> None:
        s = self.s
        fake_b = self.g_a(real_a)
        rec_a = self.g_b(fake_b)
        fake_a = self.g_b(real_b)
        rec_b = self.g_a(fake_a)
        # generators, discriminators frozen
        self._freeze_d(True)
        self.opt_g.zero_grad()
        idt_weight = s.lambda_cycle * s.lambda_identity
        loss_idt_a = F.l1_loss(self.g_a(real_b), real_b) * idt_weight
        loss_idt_b = F.l1_loss(self.g_b(real_a), real_a) * idt_weight
        loss_g = (lsgan(self.d_a(fake_b), True) + lsgan(self.d_b(fake_a), True)
                  + F.l1_loss(rec_a, real_a) * s.lambda_cycle + F.l1_loss(rec_b, real_b) * s.lambda_cycle
                  + loss_idt_a + loss_idt_b)
        loss_g.backward()
        self.opt_g.step()
        # discriminators on pooled fakes
        self._freeze_d(False)
        self.opt_d.zero_grad()
        self._backward_d(self.d_a, real_b, self.pool_b.query(fake_b))
        self._backward_d(self.d_b, real_a, self.pool_a.query(fake_a))
        self.opt_d.step()


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
    (foreach=True or fused=True; the trainer's own CPU Adam is torch's default, one tensor at a time).
    Call before the first step: the new optimisers start without state, like the old ones."""
    for name in ("opt_g", "opt_d"):
        groups = [{"params": g["params"], "lr": g["lr"], "betas": g["betas"]}
                  for g in getattr(trainer, name).param_groups]
        setattr(trainer, name, torch.optim.Adam(groups, **flags))
    return trainer


ADAM_LEVERS = {"Adam foreach=True": {"foreach": True}, "Adam fused=True": {"fused": True}}


def lever_steps(settings: CycleGANSettings, folder: Path,
                groups: list[str]) -> dict[str, tuple[CycleGANTrainer, Callable]]:
    """Each lever's trainer (all from the same initial weights) and its step function, the shipped one
    first. groups: "adam" (foreach, fused), "compile" (the trainer's `compile: true`: the four
    networks' forwards), "compile-step" (torch.compile of the whole train_step)."""
    shipped = make_trainer(settings, folder / "shipped")
    steps = {"shipped (Adam default, eager)": (shipped, shipped.train_step)}
    if "adam" in groups:
        for i, (name, flags) in enumerate(ADAM_LEVERS.items()):
            trainer = with_adam(make_trainer(settings, folder / f"adam{i}"), **flags)
            steps[name] = (trainer, trainer.train_step)
    if "compile" in groups:
        trainer = make_trainer(replace(settings, compile=True), folder / "forwards")
        steps["compile: true (forwards)"] = (trainer, trainer.train_step)
    if "compile-step" in groups:
        trainer = make_trainer(settings, folder / "step")
        steps["torch.compile(train_step)"] = (trainer, torch.compile(trainer.train_step))
    return steps


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
        # same mathematics: one step of each from the same weights on the same batch
        torch.set_num_threads(args.threads[0])
        reference(*batches[0])
        ours(*batches[0])
        copies = {"G_A": reference.g_a, "G_B": reference.g_b, "D_A": reference.d_a, "D_B": reference.d_b}
        gap = max((p - q).abs().max().item() for name, model in trainer.models.items()
                  for p, q in zip(model.parameters(), copies[name].parameters()))
        print(f"{args.generator} ngf = ndf = {args.ngf}, {args.size}x{args.size}, batch 1, fp32 CPU; "
              f"{args.repeats} alternating blocks of {args.steps} steps after {args.warmup} warm-up steps; "
              f"median (best) wall-clock steps/s, median (range) of the paired ratios; after one step from the same weights the parameters differ by "
              f"at most {gap:.1e}")
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
    parser.add_argument("--levers", nargs="+", choices=("adam", "compile", "compile-step"), default=None,
                        help="compare our step's levers (Adam foreach/fused; compile of the forwards, of the whole "
                             "step) with the shipped step, instead of the reference's math")
    args = parser.parse_args()
    (compare_levers if args.levers else compare_reference)(args)


if __name__ == "__main__":
    main()
