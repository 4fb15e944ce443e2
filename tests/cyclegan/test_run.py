"""The run folder's file names, its model card (one writer, one reader), atomic_save, and the settings' views."""

from __future__ import annotations

import fnmatch
import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch

from cg2real.cyclegan import run
from cg2real.cyclegan.data import JitterSettings
from cg2real.cyclegan.networks import set_requires_grad
from cg2real.cyclegan.run import ModelCard, RunPaths, atomic_save, read_model_card, write_model_card
from cg2real.cyclegan.train import ARCHITECTURE
from cg2real.errors import DataError
from tests.cyclegan.test_train import TINY

# what CycleGANTrainer.write_final and compact_generator wrote before the card had a type
OLD_RUN_CARD = {"generator": "resnet_9blocks", "ngf": 64, "a": "cg", "b": "real", "epochs": 200, "processes": 8}
OLD_COMPACT_CARD = {"generator": "resnet_9blocks", "ngf": 64, "compact": {"stem": 30, "down1": 100, "trunk": 200},
                    "a": "cg", "b": "real", "source": "results/cyclegan/demo/checkpoints/epoch_0200.pt"}


def test_run_paths_are_built_from_the_constants():
    paths = RunPaths(Path("r"))
    assert paths.generator_cg2real == Path("r") / run.GENERATOR_CG2REAL
    assert paths.generator_real2cg == Path("r") / run.GENERATOR_REAL2CG
    assert paths.model_card == Path("r") / run.MODEL_CARD
    assert paths.metrics == Path("r") / run.METRICS
    assert paths.checkpoints == Path("r") / run.CHECKPOINTS
    assert paths.samples == Path("r") / run.SAMPLES
    assert paths.generator_snapshots == Path("r") / run.GENERATOR_SNAPSHOTS
    # the on-disk contract (rules/ and existing run folders rely on these names)
    assert [p.as_posix() for p in (paths.generator_cg2real, paths.generator_real2cg, paths.model_card, paths.metrics,
                                   paths.generator_snapshot(7), paths.checkpoint(12), paths.pool_state(12, 3),
                                   paths.checkpoint(12, 5), paths.pool_state(12, 3, 5), paths.sample(2),
                                   paths.lock)] == [
        "r/G_cg2real.pt", "r/G_real2cg.pt", "r/model.json", "r/metrics.csv", "r/generators/G_cg2real_epoch_0007.pt",
        "r/checkpoints/epoch_0012.pt", "r/checkpoints/epoch_0012.pool3.pt", "r/checkpoints/epoch_0012_step_000005.pt",
        "r/checkpoints/epoch_0012_step_000005.pool3.pt", "r/samples/epoch_0002.png", "r/training.lock"]


def test_globs_match_their_patterns_and_nothing_else():
    assert fnmatch.fnmatch(run.GENERATOR_SNAPSHOT.format(epoch=3), run.GENERATOR_SNAPSHOT_GLOB)
    paths = RunPaths(Path("r"))
    assert run.CHECKPOINT_PATTERN.fullmatch(paths.checkpoint(3).name)
    assert run.CHECKPOINT_PATTERN.fullmatch(paths.checkpoint(3, 7).name)
    assert not run.CHECKPOINT_PATTERN.fullmatch(paths.pool_state(3, 0).name)
    assert not run.CHECKPOINT_PATTERN.fullmatch(paths.pool_state(3, 0, 7).name)


def test_saved_files_are_listed_oldest_first(tmp_path):
    """In training order: a checkpoint written mid-epoch (on a stop signal) between its epochs."""
    paths = RunPaths(tmp_path)
    paths.checkpoints.mkdir()
    paths.generator_snapshots.mkdir()
    for epoch, step in ((10, 0), (2, 0), (2, 40), (2, 5), (3, 0)):
        paths.checkpoint(epoch, step).touch()
        paths.pool_state(epoch, 0, step).touch()
        paths.generator_snapshot(epoch).touch()
    assert paths.saved_checkpoints() == [paths.checkpoint(2), paths.checkpoint(2, 5), paths.checkpoint(2, 40),
                                         paths.checkpoint(3), paths.checkpoint(10)]
    assert paths.saved_generator_snapshots() == [paths.generator_snapshot(e) for e in (2, 3, 10)]


HOLD = "import sys, time; from pathlib import Path; from cg2real.cyclegan.run import lock_run_folder; " \
       "lock_run_folder(Path(sys.argv[1])); print('held', flush=True); time.sleep(300)"


def test_a_held_run_folder_is_refused_with_its_holders_pid(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(DataError, match=rf"run folder {tmp_path} is in use by another training \(pid {holder.pid} "):
            run.lock_run_folder(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    os.close(run.lock_run_folder(tmp_path))  # a killed holder keeps nothing


def test_the_lock_dies_with_its_holder_not_with_its_forked_children(tmp_path):
    """A data-loader worker forked by the trainer must not keep the folder after the trainer is killed."""
    code = HOLD.replace("print('held', flush=True); time.sleep(300)",
                        "import os; child = os.fork()\nif child == 0: time.sleep(300)\n"
                        "print(child, flush=True); time.sleep(300)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    child = int(holder.stdout.readline())
    try:
        holder.kill()
        holder.wait()
        os.close(run.lock_run_folder(tmp_path))  # the forked child lives on, the lock is free
        os.kill(child, 0)
    finally:
        os.kill(child, signal.SIGKILL)


def test_importing_the_run_module_does_not_import_torch():
    code = "import sys, cg2real.cyclegan.run, cg2real.compact.paths; assert 'torch' not in sys.modules, 'torch'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_atomic_save_leaves_no_temporary_file(tmp_path):
    atomic_save({"x": torch.arange(3)}, tmp_path / "a.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]
    assert torch.equal(torch.load(tmp_path / "a.pt", weights_only=True)["x"], torch.arange(3))


def test_set_requires_grad_freezes_and_unfreezes():
    models = [torch.nn.Linear(2, 2), torch.nn.Conv2d(1, 1, 1)]
    set_requires_grad(models, False)
    assert not any(p.requires_grad for m in models for p in m.parameters())
    set_requires_grad(models, True)
    assert all(p.requires_grad for m in models for p in m.parameters())


@pytest.mark.parametrize("card", [
    ModelCard(generator="resnet_6blocks", ngf=4, epochs=3, processes=2),
    ModelCard(generator="resnet_6blocks", ngf=4, epochs=3, processes=512, total_batch=512, batch_fraction=0.106,
              warning="total batch 1 x 512 processes is 10.6% of the 4822 training samples"),
    ModelCard(generator="resnet_6blocks", ngf=4, compact={"stem": 3, "trunk": 5}, source="x/epoch_0002.pt"),
])
def test_card_round_trip(tmp_path, card):
    write_model_card(card, tmp_path / "model.json")
    back = read_model_card(tmp_path / "model.json")
    assert back == card and back.is_compact == (card.compact is not None)


@pytest.mark.parametrize("old", [OLD_RUN_CARD, OLD_COMPACT_CARD])
def test_cards_of_the_old_writers_read_and_write_back_the_same_file(tmp_path, old):
    (tmp_path / "old.json").write_text(json.dumps(old, indent=1))
    card = read_model_card(tmp_path / "old.json")
    assert card.generator == "resnet_9blocks" and card.ngf == 64 and card.is_compact == ("compact" in old)
    write_model_card(card, tmp_path / "new.json")
    assert (tmp_path / "new.json").read_text() == (tmp_path / "old.json").read_text()  # same keys, same order


def test_writers_produce_the_old_card_files(tmp_path):
    write_model_card(ModelCard(generator="resnet_9blocks", ngf=64, a="cg", b="real", epochs=200, processes=8),
                     tmp_path / "run.json")
    assert json.loads((tmp_path / "run.json").read_text()) == OLD_RUN_CARD
    compact = ModelCard(generator="resnet_9blocks", ngf=64, compact=OLD_COMPACT_CARD["compact"],
                        source=OLD_COMPACT_CARD["source"])
    write_model_card(compact, tmp_path / "compact.json")
    assert json.loads((tmp_path / "compact.json").read_text()) == OLD_COMPACT_CARD


def test_minimal_card_reads_with_defaults(tmp_path):
    (tmp_path / "model.json").write_text(json.dumps({"generator": "resnet_6blocks", "ngf": 4}))
    card = read_model_card(tmp_path / "model.json")
    assert (card.epochs, card.compact, card.is_compact, card.a, card.b) == (None, None, False, "cg", "real")


def test_missing_key_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"generator": "resnet_6blocks", "epochs": 3}))
    with pytest.raises(DataError, match=r"model\.json.*'ngf'"):
        read_model_card(path)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"generator": "resnet_6blocks", "ngf": "4"}', "'ngf' must be of type int"),
    ('{"generator": "resnet_6blocks", "ngf": 4, "compact": {"stem": 1.5}}', "'compact' must map"),
])
def test_malformed_cards_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "model.json"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as err:
        read_model_card(path)
    assert str(path) in str(err.value)


def test_missing_card_is_named(tmp_path):
    with pytest.raises(DataError, match="model card not found: .*absent.json"):
        read_model_card(tmp_path / "absent.json")


def test_settings_views_carry_the_flat_values():
    s = replace(TINY, ngf=8, lr=1e-3, beta1=0.4, warmup_epochs=2.0, diffaug_policy="color", lambda_bcr=3.0,
                classic_policies=("flip",), scale=2.0, simulate_processes=4)
    assert asdict(s.network) == {"generator": "resnet_6blocks", "discriminator": "basic", "ngf": 8, "ndf": 4}
    assert set(asdict(s.network)) == ARCHITECTURE
    assert asdict(s.optimiser) == {"lr": 1e-3, "beta1": 0.4, "beta2": 0.999, "lr_scaling": "none",
                                   "warmup_epochs": 2.0, "n_epochs": 1, "n_epochs_decay": 1, "lr_d_factor": 1.0,
                                   "lr_policy": "linear", "lr_step_fractions": (0.6, 0.9), "warmup_start": "base"}
    assert asdict(s.augmentation) == {"diffaug_policy": "color", "diffaug_shared": False, "lambda_bcr": 3.0,
                                      "bcr_policy": "", "classic_policies": ("flip",), "classic_contrast": 1.5}
    assert asdict(s.distribution) == {"scale": 2.0, "simulate_processes": 4, "horovod_cycle_time_ms": 1.0,
                                      "fp16_allreduce": False, "batch_fraction_warning": 0.09}
    assert s.jitter == JitterSettings(load_size=36, crop_size=32, flip=True, classic_policies=("flip",),
                                      classic_contrast=1.5)
    assert "network" not in asdict(s)  # the checkpoint's settings stay the flat fields
