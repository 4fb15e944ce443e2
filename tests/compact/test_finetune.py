"""Generator-only fine-tuning: the frozen networks stay put, the L1 penalty shrinks the scales."""

from __future__ import annotations

import pytest
import torch

from cg2real.compact.finetune import LOSS_TERMS, Optimisation, SparsityTrainer, l1_of_scales, load_trained_run
from cg2real.compact.generator import CompactGenerator
from cg2real.cyclegan.networks import define_discriminator
from cg2real.images import list_crops, read_rgb, to_tensor

CPU = torch.device("cpu")


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in module.state_dict().items()}


def test_loads_the_newest_checkpoint(tiny_run):
    run_dir, _, _ = tiny_run
    stale = define_discriminator("basic", 4)
    torch.save({"models": {"D_A": stale.state_dict()}, "settings": {}}, run_dir / "checkpoints" / "epoch_0001.pt")
    run = load_trained_run(run_dir)
    assert run.checkpoint.name == "epoch_0002.pt"
    saved = torch.load(run_dir / "G_cg2real.pt", weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in run.g_a.state_dict().items())


def test_trains_only_the_generator_and_shrinks_scales(tiny_run):
    run_dir, crops_a, crops_b = tiny_run
    run = load_trained_run(run_dir)
    frozen = {"g_b": snapshot(run.g_b), "d_a": snapshot(run.d_a)}
    trainer = SparsityTrainer(run, crops_a, crops_b, Optimisation(2e-4, 0.05, 2, 0, 0), CPU)
    generator = CompactGenerator.from_resnet(run.g_a)
    weights_before = generator.stem.weight.detach().clone()
    with torch.no_grad():
        l1_before = float(l1_of_scales(generator))
    losses = trainer.fit(generator, epochs=2, lambda_l1=1.0, step=0)
    assert set(losses) == {*LOSS_TERMS, "loss"} and losses["identity"] > 0
    with torch.no_grad():
        assert float(l1_of_scales(generator)) < l1_before - 1.0
    assert not torch.equal(generator.stem.weight, weights_before)
    for name, module in (("g_b", run.g_b), ("d_a", run.d_a)):
        assert all(torch.equal(frozen[name][k], v) for k, v in module.state_dict().items()), name


def test_l1_term_is_weighted_sum_of_absolute_scales(tiny_run):
    run_dir, crops_a, crops_b = tiny_run
    run = load_trained_run(run_dir)
    trainer = SparsityTrainer(run, crops_a, crops_b, Optimisation(2e-4, 0.05, 1, 0, 0), CPU)
    generator = CompactGenerator.from_resnet(run.g_a)
    with torch.no_grad():
        generator.scales["trunk"].fill_(-2.0)
    x = torch.zeros(1, 3, 32, 32)
    terms = trainer.losses(generator, x, x, lambda_l1=0.5)
    expected = sum(generator.widths.values()) + generator.widths["trunk"]  # |-2| counts twice
    assert float(terms["l1"].detach()) == 0.5 * expected


def test_adversarial_term_is_the_lsgan_loss_on_the_fixed_crops(tiny_run):
    """The same number for the same generator (no random crop or flip), computed image by image
    as the mean of (D_A(G(a)) - 1)^2 over every CG crop, whatever the batch size."""
    run_dir, crops_a, crops_b = tiny_run
    run = load_trained_run(run_dir)
    generator = CompactGenerator.from_resnet(run.g_a)
    terms = [SparsityTrainer(run, crops_a, crops_b, Optimisation(2e-4, 0.05, batch, 0, seed), CPU)
             .adversarial_term(generator) for batch, seed in ((1, 0), (4, 3))]
    assert terms[0] == pytest.approx(terms[1], rel=1e-5)
    with torch.no_grad():
        expected = [float(((run.d_a(generator(to_tensor(read_rgb(f)).unsqueeze(0))) - 1) ** 2).mean())
                    for f in list_crops(crops_a)]
    assert terms[0] == pytest.approx(sum(expected) / len(expected), rel=1e-5)
    assert generator.training  # left in the mode it was found in
