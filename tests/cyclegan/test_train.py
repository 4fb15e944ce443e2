"""The CycleGAN trainer: resume equality, NaN guard, data-parallel equivalence on 2 gloo processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import asdict, replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import functools
from dataclasses import replace

import torch
import yaml

from cg2real.cyclegan import train as train_module
from cg2real.cyclegan.distributed import Distributed
from cg2real.cyclegan.train import CycleGANSettings, CycleGANTrainer, TrainingDiverged, generator_snapshot_due
from cg2real.settings import settings_from_mapping

TINY = CycleGANSettings(
    generator="resnet_6blocks", discriminator="basic", ngf=4, ndf=4, load_size=36, crop_size=32, flip=True,
    batch_size=1, n_epochs=1, n_epochs_decay=1, lr=2e-4, beta1=0.5, beta2=0.999, lambda_cycle=10.0,
    lambda_identity=0.5, pool_size=2, scale=1.0, lr_scaling="none", warmup_epochs=0.0, simulate_processes=1,
    seed=0, keep_checkpoints=2, checkpoint_every=1, num_workers=0, amp="none", channels_last=False, sample_count=2,
    save_generator_every=0, compile=False, horovod_cycle_time_ms=1.0, diffaug_policy="", diffaug_shared=False,
    lambda_bcr=0.0, bcr_policy="", classic_policies=(), classic_contrast=1.5, lr_d_factor=1.0, lr_policy="linear",
    lr_step_fractions=(0.6, 0.9), warmup_start="base", fp16_allreduce=False, batch_fraction_warning=0.09,
)
CPU = Distributed(torch.device("cpu"))


@pytest.fixture
def crops(tmp_path: Path) -> tuple[Path, Path]:
    folders = []
    for domain, count in (("a", 4), ("b", 3)):
        folder = tmp_path / domain
        folder.mkdir()
        for i in range(count):
            image = np.random.default_rng([ord(domain), i]).integers(0, 256, (40, 40, 3), dtype=np.uint8)
            cv2.imwrite(str(folder / f"{i}.png"), image)
        folders.append(folder)
    return folders[0], folders[1]


def weights(trainer: CycleGANTrainer) -> dict[str, torch.Tensor]:
    return {f"{n}.{k}": v.clone() for n, m in trainer.models.items() for k, v in m.state_dict().items()}


def test_outputs_of_a_run(tmp_path, crops, caplog):
    out = tmp_path / "run"
    CycleGANTrainer(TINY, CPU, *crops, out).fit()
    metrics = (out / "metrics.csv").read_text().splitlines()
    assert metrics[0].startswith("epoch,D_A,G_A,cycle_A,idt_A,D_B,G_B,cycle_B,idt_B,lr,images_per_s")
    assert len(metrics) == 1 + TINY.epochs
    assert [line.split(",")[9] for line in metrics[1:]] == ["0.0002", "0.0001"]  # lr: constant, then decayed
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    grid = cv2.imread(str(out / "samples/epoch_0002.png"))
    assert grid.shape == (2 * 32, 8 * 32, 3)  # 2 sample pairs; real, fake, rec, idt of each direction
    first_b = cv2.resize(cv2.imread(str(crops[1] / "0.png")), (32, 32), interpolation=cv2.INTER_AREA)
    assert np.abs(grid[:32, 4 * 32 : 5 * 32].astype(int) - first_b).max() <= 1  # real_B opens the second half
    state = torch.load(out / "G_cg2real.pt", weights_only=True)
    assert set(state) == set(CycleGANTrainer(TINY, CPU, *crops, tmp_path / "x").models["G_A"].state_dict())
    card = json.loads((out / "model.json").read_text())
    assert card["generator"] == "resnet_6blocks"
    # 1 image per step of max(4, 3) crops: 25%, beyond paper 004's ~9%, in the card and the log
    assert card["total_batch"] == 1 and card["batch_fraction"] == 0.25
    assert "25.0% of the 4 training samples" in card["warning"] and card["warning"] in caplog.text
    assert not (out / "generators").exists()  # save_generator_every: 0 keeps no per-epoch generator


def test_generator_snapshot_epochs():
    assert [e for e in range(1, 8) if generator_snapshot_due(e, every=3, epochs=7)] == [3, 6, 7]
    assert [e for e in range(1, 4) if generator_snapshot_due(e, every=1, epochs=3)] == [1, 2, 3]
    assert not any(generator_snapshot_due(e, every=0, epochs=3) for e in range(1, 4))


def test_generator_snapshots_are_g_a_of_their_epoch(tmp_path, crops):
    out = tmp_path / "run"
    CycleGANTrainer(replace(TINY, n_epochs=2, n_epochs_decay=1, save_generator_every=2), CPU, *crops, out).fit()
    snapshots = sorted(p.name for p in (out / "generators").iterdir())
    assert snapshots == ["G_cg2real_epoch_0002.pt", "G_cg2real_epoch_0003.pt"]  # every 2nd and the last
    final = torch.load(out / "G_cg2real.pt", weights_only=True)
    last = torch.load(out / "generators/G_cg2real_epoch_0003.pt", weights_only=True)
    assert final.keys() == last.keys() and all(torch.equal(final[k], last[k]) for k in final)
    # an earlier snapshot is G_A of its epoch's checkpoint, not of the end of training
    epoch2 = torch.load(out / "generators/G_cg2real_epoch_0002.pt", weights_only=True)
    checkpoint2 = torch.load(out / "checkpoints/epoch_0002.pt", weights_only=True)["models"]["G_A"]
    assert epoch2.keys() == checkpoint2.keys() and all(torch.equal(epoch2[k], checkpoint2[k]) for k in checkpoint2)
    assert not all(torch.equal(epoch2[k], final[k]) for k in final)


AUGMENTED = {"diffaug_policy": "translation,cutout", "lambda_bcr": 10.0, "bcr_policy": "zoom_out",
             "classic_policies": ("negative",)}


@pytest.mark.parametrize("augmentation", [{}, AUGMENTED], ids=["reference", "augmented"])
def test_resumed_run_ends_with_the_same_weights(tmp_path, crops, augmentation):
    settings = replace(TINY, n_epochs=2, n_epochs_decay=1, **augmentation)
    whole = CycleGANTrainer(settings, CPU, *crops, tmp_path / "whole")
    whole.fit()

    first = CycleGANTrainer(settings, CPU, *crops, tmp_path / "killed")
    first.metrics.append(first.train_epoch(0))
    first.save_checkpoint(1)  # ... and the process dies here
    resumed = CycleGANTrainer(settings, CPU, *crops, tmp_path / "killed")
    resumed.fit()
    assert resumed.start_epoch == 1
    expected, got = weights(whole), weights(resumed)
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert len(resumed.metrics) == 3
    # only the newest keep_checkpoints epochs are kept
    assert sorted(p.name for p in (tmp_path / "killed/checkpoints").glob("epoch_*.pt")) == [
        "epoch_0002.pool0.pt", "epoch_0002.pt", "epoch_0003.pool0.pt", "epoch_0003.pt"]


def test_rerun_of_a_finished_run_rewrites_its_outputs(tmp_path, crops, caplog):
    """Snakemake deletes a forced job's outputs first; the checkpoints it keeps must bring them back."""
    out = tmp_path / "run"
    CycleGANTrainer(TINY, CPU, *crops, out).fit()
    metrics = (out / "metrics.csv").read_text()
    for name in ("metrics.csv", "G_cg2real.pt", "model.json"):
        (out / name).unlink()
    again = CycleGANTrainer(TINY, CPU, *crops, out)
    again.fit()
    assert (out / "metrics.csv").read_text() == metrics and (out / "G_cg2real.pt").exists()
    assert "writing its outputs again without training" in caplog.text


def test_resume_refuses_a_checkpoint_of_other_networks(tmp_path, crops, caplog):
    out = tmp_path / "run"
    CycleGANTrainer(replace(TINY, n_epochs_decay=0), CPU, *crops, out).fit()
    with pytest.raises(train_module.DataError, match="different model \\(ngf changed\\); delete .*checkpoints"):
        CycleGANTrainer(replace(TINY, ngf=8), CPU, *crops, out).resume()
    CycleGANTrainer(replace(TINY, lr=1e-4), CPU, *crops, out).resume()  # other changes resume, with a warning
    assert "resuming" in caplog.text and "changed settings: lr, n_epochs_decay" in caplog.text


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, crops, monkeypatch, value):
    out = tmp_path / "run"
    CycleGANTrainer(replace(TINY, n_epochs_decay=0), CPU, *crops, out).fit()
    monkeypatch.setattr(train_module, "cycle_loss", lambda rec, orig: (rec - orig).abs().mean() * value)
    with pytest.raises(TrainingDiverged, match=r"cycle_A, .*not finite in epoch 2.*epoch_0001.pt"):
        CycleGANTrainer(TINY, CPU, *crops, out).fit()
    assert sorted(p.name for p in (out / "checkpoints").glob("epoch_????.pt")) == ["epoch_0001.pt"]


def test_learning_rate_scaling_and_warmup(tmp_path, crops):
    linear = replace(TINY, n_epochs=5, lr_scaling="linear", warmup_epochs=2.0, simulate_processes=4)
    trainer = CycleGANTrainer(linear, CPU, *crops, tmp_path / "run")
    # paper 004's warm-up: from the one-process rate to 4x it
    assert trainer.learning_rate(0, 0.0) == pytest.approx(2e-4)
    assert trainer.learning_rate(0, 0.5) == pytest.approx(2e-4 * (1 + 3 * 0.25))
    assert trainer.learning_rate(1, 0.0) == pytest.approx(2e-4 * (1 + 3 * 0.5))
    assert trainer.learning_rate(3, 0.0) == pytest.approx(2e-4 * 4)  # warm-up over, no decay yet
    old = CycleGANTrainer(replace(linear, warmup_start="zero"), CPU, *crops, tmp_path / "old")
    assert old.learning_rate(0, 0.5) == pytest.approx(2e-4 * 4 * 0.25)
    assert old.learning_rate(1, 0.0) == pytest.approx(2e-4 * 4 * 0.5)


def test_step_policy_drops_the_rate_tenfold_at_its_milestones(tmp_path, crops):
    step = CycleGANTrainer(replace(TINY, n_epochs=5, n_epochs_decay=5, lr_policy="step"), CPU, *crops, tmp_path / "r")
    assert [step.learning_rate(e, 0.0) for e in (5, 6, 8, 9)] == pytest.approx([2e-4, 2e-5, 2e-5, 2e-6])


def test_half_discriminator_rate_halves_its_adam_step(tmp_path, crops):
    """lr_d_factor 0.5 (paper 000's text) halves every D update of the same first step; the
    reference's halved D loss alone would not (Adam's step ignores a loss scale), and G's is unchanged."""
    batch = [tuple(torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(i)) * 2 - 1 for i in (3, 4))]
    deltas = {}
    for factor in (1.0, 0.5):
        trainer = CycleGANTrainer(replace(TINY, lr_d_factor=factor), CPU, *crops, tmp_path / str(factor))
        before = weights(trainer)
        trainer.train_step(batch)
        deltas[factor] = {k: v - before[k] for k, v in weights(trainer).items()}
        trainer._set_lr(1e-3)
        assert [g["lr"] for g in trainer.opt_d.param_groups] == [pytest.approx(1e-3 * factor)]
    for key, full in deltas[1.0].items():
        expected = full * 0.5 if key.startswith("D_") else full
        torch.testing.assert_close(deltas[0.5][key], expected, rtol=1e-3, atol=1e-8,
                                   msg=lambda m, key=key: f"{key}: {m}")
    assert all(float(deltas[1.0][k].abs().max()) > 1e-5 for k in deltas[1.0] if k.startswith("D_") and "weight" in k)


def test_batch_warning_counts_simulated_processes_and_follows_its_threshold(tmp_path, crops):
    simulated = CycleGANTrainer(replace(TINY, simulate_processes=2), CPU, *crops, tmp_path / "a")
    assert simulated.batch_fraction() == pytest.approx(0.5)  # 1 x 2 of max(4, 3) crops
    assert "1 x 2 processes is 50.0%" in simulated.batch_warning()
    relaxed = CycleGANTrainer(replace(TINY, batch_fraction_warning=0.5), CPU, *crops, tmp_path / "b")
    assert relaxed.batch_warning() is None


DDP_SCRIPT = textwrap.dedent(
    """
    import json, sys, torch
    from pathlib import Path
    from cg2real.cyclegan.distributed import init_distributed
    from cg2real.cyclegan.train import CycleGANSettings, CycleGANTrainer
    settings = CycleGANSettings(**json.loads(sys.argv[1]))
    a, b, out = (Path(p) for p in sys.argv[2:5])
    dist = init_distributed(sys.argv[5], "cpu", fp16_allreduce=settings.fp16_allreduce)
    trainer = CycleGANTrainer(settings, dist, a, b, out)
    inputs = torch.load(out / "inputs.pt")
    k = settings.simulate_processes
    trainer.train_step(inputs[dist.rank * k : (dist.rank + 1) * k])
    state = {f"{n}.{k}": v for n, m in trainer.models.items() for k, v in m.state_dict().items()}
    # the gradients each optimiser stepped with (G's are kept: zeroed only at the next step's start)
    gradients = {f"{n}.{k}": p.grad for n, m in trainer.models.items() for k, p in m.named_parameters()}
    torch.save({"weights": state, "gradients": gradients}, out / f"rank{dist.rank}.pt")
    dist.close()
    """
)


def two_rank_inputs(per_rank: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """2 x `per_rank` (CG, real) pairs of random 32 px images: the first `per_rank` for rank 0."""
    generator = torch.Generator().manual_seed(5)
    return [tuple(torch.rand(1, 3, 32, 32, generator=generator) * 2 - 1 for _ in range(2)) for _ in range(2 * per_rank)]


def run_two_ranks(tmp_path: Path, crops: tuple[Path, Path], settings: CycleGANSettings, backend: str,
                  inputs: list) -> list[dict]:
    """One `train_step` on 2 gloo ranks of `backend` (DDP_SCRIPT); each rank's weights and gradients after it."""
    out = tmp_path / "ddp"
    out.mkdir()
    torch.save(inputs, out / "inputs.pt")
    script = tmp_path / "step.py"
    script.write_text(DDP_SCRIPT)
    args = [json.dumps(asdict(settings)), *map(str, crops), str(out), backend]
    if backend == "torch":
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)]
    else:
        command = [str(Path(sys.executable).with_name("horovodrun")), "-np", "2", "-H", "localhost:2", "--gloo",
                   sys.executable, str(script)]
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1)]


@pytest.mark.parametrize("backend", ["torch", "horovod"])
@pytest.mark.parametrize("per_rank", [1, 2], ids=["1-sample", "2-accumulated"])
def test_two_processes_equal_one_process_accumulating_all_samples(tmp_path, crops, backend, per_rank):
    """2 ranks x `per_rank` samples (accumulated with simulate_processes) step like 1 process that
    accumulates all 2 x `per_rank`: each rank's averaged gradients equal the one process's mean
    gradient (a sum over the ranks, or a wrong 1/k, would be off by 2x), and so do the weights.
    horovod is built by `make horovod`, which `make test` runs (tools/build_horovod.sh): a broken build fails here."""
    # the pools are per process by design; switch them off here
    settings = replace(TINY, pool_size=0, simulate_processes=per_rank)
    inputs = two_rank_inputs(per_rank)
    saved = run_two_ranks(tmp_path, crops, settings, backend, inputs)
    single = CycleGANTrainer(replace(settings, simulate_processes=2 * per_rank), CPU, *crops, tmp_path / "single")
    before = weights(single)
    single.train_step(inputs)
    expected = weights(single)
    gradients = {f"{n}.{k}": p.grad for n, m in single.models.items() for k, p in m.named_parameters()}
    ranks = [rank["weights"] for rank in saved]
    noise_floor = 1e-4 * max(float(g.abs().max()) for g in gradients.values())
    for key, gradient in gradients.items():
        for rank in saved:
            torch.testing.assert_close(rank["gradients"][key], gradient, rtol=1e-4, atol=noise_floor,
                                       msg=lambda m, key=key: f"{key}: {m}")
    compared = 0
    for key, value in expected.items():
        assert torch.equal(ranks[0][key], ranks[1][key]), key  # ranks stay identical
        # A conv bias right before an instance norm has a true gradient of exactly 0; Adam turns
        # the rounding noise left there into +-lr, so elements whose gradient is noise are skipped.
        informative = gradients[key].abs() > noise_floor
        torch.testing.assert_close(ranks[0][key][informative], value[informative], rtol=1e-4, atol=1e-6)
        compared += int(informative.sum())
    assert compared > 0.9 * sum(v.numel() for v in expected.values())
    assert all(not torch.equal(before[k], expected[k]) for k in expected if "weight" in k)  # the step moved them


@pytest.mark.parametrize("backend", ["torch", "horovod"])
def test_fp16_allreduce_sends_half_precision_gradients_close_to_fp32(tmp_path, crops, backend):
    """fp16_allreduce: the averaged gradients went through float16 (every element is a float16
    value, which float32 sums almost never are) and stay within float16's rounding of the one
    process's float32 mean gradient; the ranks still step identically."""
    settings = replace(TINY, pool_size=0, fp16_allreduce=True)
    inputs = two_rank_inputs(1)
    saved = run_two_ranks(tmp_path, crops, settings, backend, inputs)
    single = CycleGANTrainer(replace(settings, simulate_processes=2), CPU, *crops, tmp_path / "single")
    single.train_step(inputs)
    gradients = {f"{n}.{k}": p.grad for n, m in single.models.items() for k, p in m.named_parameters()}
    largest = max(float(g.abs().max()) for g in gradients.values())
    for key, gradient in gradients.items():
        for rank in saved:
            sent = rank["gradients"][key]
            assert torch.equal(sent, sent.half().float()), f"{key} was not sent as float16"
            # float16 keeps 11 significant bits: a relative error of 2^-11 per rounding, two roundings
            torch.testing.assert_close(sent, gradient, rtol=2e-3, atol=1e-3 * largest,
                                       msg=lambda m, key=key: f"{key}: {m}")
        assert torch.equal(saved[0]["weights"][key], saved[1]["weights"][key]), key
    assert not all(torch.equal(g, g.half().float()) for g in gradients.values())  # float32 sums are not float16


def test_compiled_forward_passes_train_like_eager_ones(tmp_path, crops, monkeypatch):
    """torch.compile changes how the forward runs, not what a step computes or what is saved.

    Dynamo traces the networks for real; the traced graphs run eagerly, because inductor's C++
    compilation takes minutes on a small CPU and its numerics are torch's to test, not ours.
    """
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    settings = replace(TINY, ngf=2, ndf=2, n_epochs=1, n_epochs_decay=0)
    eager = CycleGANTrainer(settings, CPU, *crops, tmp_path / "eager")
    compiled = CycleGANTrainer(replace(settings, compile=True), CPU, *crops, tmp_path / "compiled")
    assert compiled.forward["G_A"] is not compiled.models["G_A"]
    batch = [(torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(i)) * 2 - 1,) * 2 for i in range(2)]
    for trainer in (eager, compiled):
        trainer.losses = trainer.train_step(batch)
    for name in eager.losses:
        assert float(compiled.losses[name]) == pytest.approx(float(eager.losses[name]), rel=1e-4, abs=1e-6), name
    for name, model in eager.models.items():
        state = compiled.models[name].state_dict()
        assert set(state) == set(model.state_dict())  # no '_orig_mod.' prefixes in checkpoints
        for key, value in model.state_dict().items():
            torch.testing.assert_close(state[key], value, rtol=1e-4, atol=1e-5)


def test_channels_last_and_bf16_autocast_train_like_fp32(tmp_path, crops):
    """The GPU speed switches run on the CPU too: channels_last changes only the memory layout (same
    step to float tolerance), bf16 autocast only the precision of the forward (close losses, fp32
    master weights, no gradient scaler needed)."""
    settings = replace(TINY, ngf=2, ndf=2, n_epochs=1, n_epochs_decay=0)
    batch = [(torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(i)) * 2 - 1,) * 2 for i in range(2)]
    changes = {"fp32": {}, "channels_last": {"channels_last": True}, "bf16": {"amp": "bf16"}}
    trainers = {name: CycleGANTrainer(replace(settings, **change), CPU, *crops, tmp_path / name)
                for name, change in changes.items()}
    activations: dict[str, set] = {name: set() for name in trainers}  # dtypes of G_A's first convolution's outputs
    for name, trainer in trainers.items():
        trainer.models["G_A"].model[1].register_forward_hook(
            lambda module, inputs, output, name=name: activations[name].add(output.dtype))
    losses = {name: trainer.train_step(batch) for name, trainer in trainers.items()}
    assert activations == {"fp32": {torch.float32}, "channels_last": {torch.float32}, "bf16": {torch.bfloat16}}
    assert trainers["channels_last"].models["G_A"].model[1].weight.is_contiguous(memory_format=torch.channels_last)
    assert not trainers["bf16"].scaler.is_enabled()
    for name, value in losses["fp32"].items():
        assert float(losses["channels_last"][name]) == pytest.approx(float(value), rel=1e-4, abs=1e-6), name
        assert float(losses["bf16"][name]) == pytest.approx(float(value), rel=0.1, abs=0.02), name
    for name, model in trainers["fp32"].models.items():
        for key, value in model.state_dict().items():
            assert trainers["bf16"].models[name].state_dict()[key].dtype == value.dtype
            if key.endswith("weight"):  # a bias before instance norm has gradient 0 up to rounding,
                # which Adam's first step turns into +-lr: only weights carry a comparable update
                torch.testing.assert_close(trainers["channels_last"].models[name].state_dict()[key], value,
                                           rtol=1e-4, atol=1e-5)


def test_augmentation_and_bcr_change_only_the_adversarial_terms(tmp_path, crops):
    """DiffAugment + bCR on: the same first step (same initial weights and inputs) gives other G
    and D losses but the very same cycle and identity losses, which never see a discriminator."""
    augmented = replace(TINY, diffaug_policy="color,translation,cutout", diffaug_shared=True, lambda_bcr=10.0,
                        bcr_policy="translation", classic_policies=("hflip",))
    batch = [tuple(torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(i)) * 2 - 1 for i in (1, 2))]
    off = CycleGANTrainer(TINY, CPU, *crops, tmp_path / "off").train_step(batch)
    trainer = CycleGANTrainer(augmented, CPU, *crops, tmp_path / "on")
    on = trainer.train_step(batch)
    assert all(torch.isfinite(torch.as_tensor(value)) for value in on.values())
    for name in ("G_A", "G_B", "D_A", "D_B"):
        assert float(on[name]) != pytest.approx(float(off[name]), rel=1e-6), name
    for name in ("cycle_A", "cycle_B", "idt_A", "idt_B"):
        assert float(on[name]) == pytest.approx(float(off[name]), rel=1e-6), name
    assert trainer._loader(0).dataset.settings.classic_policies == ("hflip",)  # the crops get paper 002's policy


def test_config_files_and_schema_hold_every_setting_and_the_paper_config_the_papers_values():
    """Demo, paper and schema defaults all build CycleGANSettings; config/paper.yaml uses paper 000's
    D rate and paper 004's warm-up start, the demo the reference code's D rate."""
    repo = Path(__file__).resolve().parents[2]
    schema = yaml.safe_load((repo / "schemas/config.schema.yaml").read_text())
    defaults = {name: spec["default"] for name, spec in schema["$defs"]["cyclegan_settings"]["properties"].items()}
    assert set(schema["properties"]["cyclegan"]["properties"]["defaults"]["required"]) == set(asdict(TINY))
    built = {name: settings_from_mapping(CycleGANSettings, values, "cyclegan") for name, values in (
        ("schema", defaults),
        *((name, yaml.safe_load((repo / name).read_text())["cyclegan"]["defaults"])
          for name in ("config.yaml", "config/paper.yaml")))}
    paper, demo, reference = built["config/paper.yaml"], built["config.yaml"], built["schema"]
    assert (paper.lr_d_factor, paper.warmup_start, paper.lr_policy) == (0.5, "base", "linear")
    assert demo.lr_d_factor == reference.lr_d_factor == 1.0 and reference.batch_fraction_warning == 0.09


def test_bcr_without_its_transform_is_refused(tmp_path, crops):
    with pytest.raises(train_module.DataError, match="lambda_bcr > 0 needs a bcr_policy"):
        CycleGANTrainer(replace(TINY, lambda_bcr=10.0), CPU, *crops, tmp_path / "run")
