"""Generator-only (sparsity) fine-tuning of the compact CG->real generator against the frozen CycleGAN.

Paper 001 retrains the generator alone against the already trained, frozen discriminator, with
`lambda * sum |alpha|` added to the GAN objective. Here the trained networks come from the last
checkpoint of a CycleGAN run: D_A (judges real-looking images) and G_B (real -> CG) are frozen and
only the compact G_A (CG -> real, with its scale factors) learns, with the run's loss weights:

    LSGAN(D_A(G_A(a)))                                      adversarial, a = CG crop
    + lambda_cycle * |G_B(G_A(a)) - a|_1                      cycle, through the frozen G_B
    + lambda_cycle * lambda_identity * |G_A(b) - b|_1         identity, b = real crop (if lambda_identity > 0)
    + lambda_l1 * sum |alpha|                                 sparsity (paper 001, eq. 2)

The identity term stays because it is what keeps CycleGAN's colours in place (Zhu et al.). The
backward cycle |G_A(G_B(b)) - b| is left out: it would cost a G_B pass and a third G_A pass per
step (about a third more time) for a constraint the forward cycle already mirrors.

Differences from paper 001: its scales are trained with the GAN from the start (G and D together);
here the CycleGAN is already trained without them, so they are inserted at 1 afterwards and the
L1 phase is itself generator-only, against D_A as it was at the end of training. Paper 001's
generator is a one-way network with no cycle or identity terms; here they come from the CycleGAN
and keep the translation tied to its input, G_B being frozen (it is not pruned; it only judges
the cycle). Adam with the run's betas; the alphas get their own learning rate (`scale_lr`) so
that sparsity appears within a few epochs without moving the conv weights fast. A fresh optimiser
is made for each phase, because pruning changes every parameter's shape.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from cg2real.compact.generator import CompactGenerator
from cg2real.cyclegan.data import JitterSettings, UnpairedCrops
from cg2real.cyclegan.losses import cycle_loss, identity_loss, lsgan_loss
from cg2real.cyclegan.networks import define_discriminator, define_generator, set_requires_grad
from cg2real.cyclegan.run import RunPaths
from cg2real.errors import DataError
from cg2real.images import list_crops

log = logging.getLogger(__name__)

LOSS_TERMS = ("gan", "cycle", "identity", "l1")


@dataclass
class TrainedRun:
    """The networks and settings of a CycleGAN run's last checkpoint (on the CPU)."""

    g_a: nn.Module
    g_b: nn.Module
    d_a: nn.Module
    settings: dict
    checkpoint: Path


def load_trained_run(run_dir: Path) -> TrainedRun:
    """G_A, G_B and D_A of the newest `checkpoints/epoch_*.pt` of a run folder.

    The checkpoint, not `G_cg2real.pt`, because only it holds the discriminator and the settings.
    """
    paths = RunPaths(run_dir)
    checkpoints = paths.saved_checkpoints()
    if not checkpoints:
        raise DataError(f"no checkpoint in {paths.checkpoints}: the compact generator needs the "
                        "trained discriminator D_A (train the CycleGAN run first)")
    state = torch.load(checkpoints[-1], map_location="cpu", weights_only=True)
    settings = state["settings"]
    networks = {
        "G_A": define_generator(settings["generator"], settings["ngf"]),
        "G_B": define_generator(settings["generator"], settings["ngf"]),
        "D_A": define_discriminator(settings["discriminator"], settings["ndf"]),
    }
    for name, network in networks.items():
        network.load_state_dict(state["models"][name])
    return TrainedRun(networks["G_A"], networks["G_B"], networks["D_A"], settings, checkpoints[-1])


@dataclass(frozen=True)
class Optimisation:
    """Knobs of one fine-tuning phase that do not change between steps."""

    lr: float
    scale_lr: float
    batch_size: int
    num_workers: int
    seed: int


def l1_of_scales(generator: CompactGenerator) -> torch.Tensor:
    return sum(scale.abs().sum() for scale in generator.scale_parameters())


class SparsityTrainer:
    """Fine-tunes compact generators against one run's frozen G_B and D_A on the crop folders."""

    def __init__(self, run: TrainedRun, crops_a: Path, crops_b: Path, optimisation: Optimisation,
                 device: torch.device) -> None:
        self.run, self.optimisation, self.device = run, optimisation, device
        self.files_a, self.files_b = list_crops(crops_a), list_crops(crops_b)
        s = run.settings
        self.jitter = JitterSettings(s["load_size"], s["crop_size"], s["flip"])
        for network in (run.g_b, run.d_a):
            network.to(device).eval()
        set_requires_grad([run.g_b, run.d_a], False)

    def losses(self, generator: CompactGenerator, real_a: torch.Tensor, real_b: torch.Tensor,
               lambda_l1: float) -> dict[str, torch.Tensor]:
        """The terms of the module docstring's objective, already weighted."""
        g_b, d_a, s = self.run.g_b, self.run.d_a, self.run.settings
        fake_b = generator(real_a)
        identity_weight = s["lambda_cycle"] * s["lambda_identity"]
        return {
            "gan": lsgan_loss(d_a(fake_b), True),
            "cycle": cycle_loss(g_b(fake_b), real_a) * s["lambda_cycle"],
            "identity": identity_loss(generator(real_b), real_b) * identity_weight
            if identity_weight > 0 else real_a.new_zeros(()),
            "l1": l1_of_scales(generator) * lambda_l1,
        }

    def _loader(self, step: int, epoch: int) -> DataLoader:
        """One pass over the CG crops in a fresh order, each with a random real partner."""
        o = self.optimisation
        order = np.random.default_rng([o.seed, step, epoch]).permutation(len(self.files_a)).tolist()
        dataset = UnpairedCrops(self.files_a, self.files_b, order, self.jitter, (o.seed, step, epoch))
        return DataLoader(dataset, batch_size=o.batch_size, shuffle=False, drop_last=True,
                          num_workers=o.num_workers, pin_memory=self.device.type == "cuda")

    def _optimizer(self, generator: CompactGenerator) -> torch.optim.Optimizer:
        scales = {id(p) for p in generator.scale_parameters()}
        weights = [p for p in generator.parameters() if id(p) not in scales]
        betas = (self.run.settings["beta1"], self.run.settings["beta2"])
        return torch.optim.Adam([{"params": weights, "lr": self.optimisation.lr},
                                 {"params": generator.scale_parameters(), "lr": self.optimisation.scale_lr}],
                                betas=betas)

    @torch.no_grad()
    def adversarial_term(self, generator: CompactGenerator) -> float:
        """Mean LSGAN(D_A(G_A(a))) over every CG crop, resized to the training patch without jitter,
        in file order: the same images for every generator, so steps compare on equal terms (the
        training means of `fit` move with the weights and the random crops)."""
        size = self.jitter.crop_size
        fixed = JitterSettings(size, size, False)
        order = list(range(len(self.files_a)))
        dataset = UnpairedCrops(self.files_a, self.files_b, order, fixed, (self.optimisation.seed,))
        loader = DataLoader(dataset, batch_size=self.optimisation.batch_size, num_workers=self.optimisation.num_workers)
        was_training = generator.training
        generator.eval()
        total = 0.0
        for real_a, _ in loader:
            fake_b = generator(real_a.to(self.device))
            total += float(lsgan_loss(self.run.d_a(fake_b), True)) * len(real_a)
        generator.train(was_training)
        return total / len(self.files_a)

    def fit(self, generator: CompactGenerator, epochs: int, lambda_l1: float, step: int) -> dict[str, float]:
        """Train `generator` in place for `epochs`; the mean of each loss term (and `loss`, their sum)."""
        generator.train()
        optimizer = self._optimizer(generator)
        sums = dict.fromkeys(LOSS_TERMS, 0.0)
        batches = 0
        for epoch in range(epochs):
            loader = self._loader(step, epoch)
            if len(loader) == 0:
                raise DataError(f"{len(self.files_a)} CG crops are fewer than batch_size "
                                f"{self.optimisation.batch_size}")
            for real_a, real_b in tqdm(loader, desc=f"step {step} epoch {epoch + 1}/{epochs}", mininterval=5):
                terms = self.losses(generator, real_a.to(self.device), real_b.to(self.device), lambda_l1)
                optimizer.zero_grad()
                sum(terms.values()).backward()
                optimizer.step()
                for name, value in terms.items():
                    sums[name] = sums[name] + value.detach()
                batches += 1
        means = {name: float(value) / max(batches, 1) for name, value in sums.items()}
        if not all(math.isfinite(value) for value in means.values()):
            raise DataError(f"a loss became NaN or infinite in compaction step {step} ({means}): lower lr or scale_lr")
        return {**means, "loss": sum(means.values())}
