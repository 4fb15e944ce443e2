"""The batched step: `train_step` runs independent inputs through a network in one call
(`train._batched`), and must still compute the reference's losses and gradients, which make one
call per input. Compared here on the first step from the same weights, where the image pools are
still filling and so hand D the fakes themselves."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch
from torch.nn import functional as F

from cg2real.cyclegan.train import MODEL_NAMES, CycleGANSettings, CycleGANTrainer
from tests.cyclegan.test_train import CPU, TINY, crops  # noqa: F401 (crops: a fixture)


def lsgan(scores: torch.Tensor, target: float) -> torch.Tensor:
    return F.mse_loss(scores, torch.full_like(scores, target))


def unbatched_first_step(models: dict[str, torch.nn.Module], s: CycleGANSettings, real_a: torch.Tensor,
                         real_b: torch.Tensor) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """The reference's eight losses, one network call per input, on copies of `models`, and the
    gradients each optimiser steps with: of G's total loss for G's parameters, of D's for D's."""
    g_a, g_b, d_a, d_b = (copy.deepcopy(models[name]) for name in MODEL_NAMES)
    fake_b, fake_a = g_a(real_a), g_b(real_b)
    losses = {"G_A": lsgan(d_a(fake_b), 1.0), "G_B": lsgan(d_b(fake_a), 1.0),
              "cycle_A": F.l1_loss(g_b(fake_b), real_a) * s.lambda_cycle,
              "cycle_B": F.l1_loss(g_a(fake_a), real_b) * s.lambda_cycle}
    if s.lambda_identity > 0:
        weight = s.lambda_cycle * s.lambda_identity
        losses["idt_A"] = F.l1_loss(g_a(real_b), real_b) * weight
        losses["idt_B"] = F.l1_loss(g_b(real_a), real_a) * weight
    generators = {f"G_A.{k}": p for k, p in g_a.named_parameters()} | {f"G_B.{k}": p for k, p in g_b.named_parameters()}
    gradients = dict(zip(generators, torch.autograd.grad(sum(losses.values()), list(generators.values()))))
    for name, net, real, fake in (("D_A", d_a, real_b, fake_b), ("D_B", d_b, real_a, fake_a)):
        losses[name] = (lsgan(net(real), 1.0) + lsgan(net(fake.detach()), 0.0)) * 0.5
        parameters = dict(net.named_parameters())
        computed = torch.autograd.grad(losses[name], list(parameters.values()))
        gradients |= {f"{name}.{k}": gradient for k, gradient in zip(parameters, computed)}
    return {name: float(value.detach()) for name, value in losses.items()}, gradients


@pytest.mark.parametrize("lambda_identity", [0.0, 0.5])
@pytest.mark.parametrize("batch_size", [1, 2])
def test_batched_step_computes_the_unbatched_losses_and_gradients(tmp_path, crops, batch_size, lambda_identity):
    settings = replace(TINY, batch_size=batch_size, lambda_identity=lambda_identity)
    trainer = CycleGANTrainer(settings, CPU, *crops, tmp_path / "run")
    generator = torch.Generator().manual_seed(7)
    real_a, real_b = (torch.rand(batch_size, 3, 32, 32, generator=generator) * 2 - 1 for _ in range(2))
    expected_losses, expected_gradients = unbatched_first_step(trainer.models, settings, real_a, real_b)

    losses = trainer.train_step([(real_a, real_b)])

    assert set(expected_losses) <= set(losses)
    for name, value in expected_losses.items():
        assert float(losses[name]) == pytest.approx(value, rel=1e-5), name
    if lambda_identity == 0:
        assert float(losses["idt_A"]) == float(losses["idt_B"]) == 0.0
    # the gradients each optimiser stepped with (each is zeroed only before its optimiser's next step)
    gradients = {f"{n}.{k}": p.grad for n, m in trainer.models.items() for k, p in m.named_parameters()}
    assert gradients.keys() == expected_gradients.keys()
    for network in MODEL_NAMES:
        keys = [key for key in gradients if key.startswith(f"{network}.")]
        # a conv bias before an instance norm has a true gradient of 0: rounding noise, at this floor
        noise_floor = 1e-4 * max(float(expected_gradients[key].abs().max()) for key in keys)
        for key in keys:
            torch.testing.assert_close(gradients[key], expected_gradients[key], rtol=1e-4, atol=noise_floor,
                                       msg=lambda m, key=key: f"{key}: {m}")
    # a wrong pairing of the batched outputs (fake_b with idt_A, say) moves the losses far beyond that
    assert min(abs(value) for name, value in expected_losses.items() if not name.startswith("idt")) > 1e-3


def test_networks_are_called_once_per_group_of_independent_inputs(tmp_path, crops):
    """G_A twice (real_A with real_B, then fake_A), G_B once (real_B, fake_B and real_A), each D once
    for G's loss and once on real and pooled fake together: 7 calls where the reference makes 12."""
    trainer = CycleGANTrainer(replace(TINY, batch_size=2), CPU, *crops, tmp_path / "run")
    batches: dict[str, list[int]] = {name: [] for name in MODEL_NAMES}
    for name, model in trainer.models.items():
        model.register_forward_hook(lambda module, inputs, output, name=name: batches[name].append(len(inputs[0])))
    batch = tuple(torch.zeros(2, 3, 32, 32) for _ in range(2))
    trainer.train_step([batch])
    assert batches == {"G_A": [4, 2], "G_B": [6], "D_A": [2, 4], "D_B": [2, 4]}
