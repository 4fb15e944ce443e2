"""Faults of CycleGAN runs (issue 15), on real processes with tiny settings: kill -9 of the job's
process group, SIGTERM, a run folder held by another training, NaN or infinite gradients.

The kill and SIGTERM tests start the command the rule runs (`cg2real launch ... train-cyclegan`) in
a session of its own, as Snakemake and the schedulers do, and signal its process group; the
reference is the same command left alone (fp32, CPU, fixed seed: bitwise equal weights expected).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict, replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cg2real.cyclegan import train as train_module
from cg2real.cyclegan.distributed import Distributed
from cg2real.cyclegan.run import RunPaths
from cg2real.cyclegan.train import CycleGANTrainer, TrainingDiverged, TrainingStopped
from cg2real.errors import DataError
from tests.cyclegan.test_run import HOLD
from tests.cyclegan.test_train import TINY

CPU = Distributed(torch.device("cpu"))
# 4 CG crops, scale 2: 4 steps an epoch on 1 and on 2 processes; 5 epochs
RUN = replace(TINY, scale=2.0, n_epochs=3, n_epochs_decay=2, keep_checkpoints=10)
STARTUP_S = 240  # a cold start of torch in 3 processes on a loaded 2-core machine


def write_crops(root: Path) -> tuple[Path, Path]:
    folders = []
    for domain, count in (("a", 4), ("b", 3)):
        folder = root / domain
        folder.mkdir(parents=True)
        for i in range(count):
            image = np.random.default_rng([ord(domain), i]).integers(0, 256, (40, 40, 3), dtype=np.uint8)
            cv2.imwrite(str(folder / f"{i}.png"), image)
        folders.append(folder)
    return folders[0], folders[1]


@pytest.fixture(scope="module")
def crops(tmp_path_factory) -> tuple[Path, Path]:
    return write_crops(tmp_path_factory.mktemp("crops"))


def command(crops: tuple[Path, Path], out: Path, nproc: int) -> list[str]:
    backend = "torch" if nproc > 1 else "none"
    return [sys.executable, "-m", "cg2real", "launch", "--backend", backend, "--nproc", str(nproc), "--",
            "train-cyclegan", "--crops-a", str(crops[0]), "--crops-b", str(crops[1]), "--out", str(out),
            "--settings", json.dumps(asdict(RUN)), "--backend", backend, "--device", "cpu"]


ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def start(crops: tuple[Path, Path], out: Path, nproc: int) -> subprocess.Popen:
    """The job: its own session and process group, as Snakemake or a scheduler starts it."""
    out.mkdir(parents=True, exist_ok=True)
    log = (out.parent / f"{out.name}.log").open("ab")
    return subprocess.Popen(command(crops, out, nproc), stdout=log, stderr=subprocess.STDOUT, env=ENV,
                            start_new_session=True)


def run_to_end(crops: tuple[Path, Path], out: Path, nproc: int) -> None:
    job = start(crops, out, nproc)
    assert job.wait(timeout=STARTUP_S + 300) == 0, log_of(out)


def log_of(out: Path) -> str:
    return (out.parent / f"{out.name}.log").read_text()[-3000:]


def final_weights(out: Path) -> dict[str, torch.Tensor]:
    """All four networks of the final checkpoint, the run's G_cg2real.pt, and every epoch's mean
    losses (averaged over the ranks: a resumed epoch must carry each rank's own loss sums)."""
    state = torch.load(RunPaths(out).checkpoint(RUN.epochs), weights_only=True)
    weights = {f"{n}.{k}": v for n, m in state["models"].items() for k, v in m.items()}
    weights |= {f"final.{k}": v for k, v in torch.load(RunPaths(out).generator_cg2real, weights_only=True).items()}
    weights |= {f"epoch{row['epoch']}.{k}": torch.tensor(row[k]) for row in state["metrics"]
                for k in train_module.LOSS_NAMES}
    return weights


def assert_same_weights(got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert got.keys() == expected.keys()
    different = [k for k in expected if not torch.equal(got[k], expected[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


@pytest.fixture(scope="module")
def reference(crops, tmp_path_factory):
    """Final weights of uninterrupted runs, by process count (each computed once per module)."""
    found: dict[int, dict[str, torch.Tensor]] = {}

    def weights(nproc: int) -> dict[str, torch.Tensor]:
        if nproc not in found:
            out = tmp_path_factory.mktemp(f"reference{nproc}") / "run"
            run_to_end(crops, out, nproc)
            found[nproc] = final_weights(out)
        return found[nproc]

    return weights


def processes_of(out: Path) -> list[int]:
    """Live processes whose command line names the run folder: launcher, torchrun, workers."""
    marker = str(out).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass  # ended meanwhile
    return found


def wait_for_epoch_2(job: subprocess.Popen, out: Path) -> float:
    """Wait for the checkpoints of epochs 1 and 2; return the seconds between them (one epoch)."""
    deadline = time.monotonic() + STARTUP_S
    seen = []
    for epoch in (1, 2):
        while not RunPaths(out).checkpoint(epoch).exists():
            assert job.poll() is None, f"the run ended early:\n{log_of(out)}"
            assert time.monotonic() < deadline, f"epoch {epoch} not done in {STARTUP_S} s:\n{log_of(out)}"
            time.sleep(0.02)
        seen.append(time.monotonic())
    return seen[1] - seen[0]


def at_a_random_step(job: subprocess.Popen, out: Path, seed: int) -> None:
    """Return at a random moment of epochs 3 and 4 (of 5)."""
    time.sleep(random.Random(seed).uniform(0.0, 2.0) * wait_for_epoch_2(job, out))
    assert job.poll() is None and not RunPaths(out).generator_cg2real.exists(), "too late to test anything"


# tests sharing the `reference` runs: on one xdist worker (make test: --dist loadgroup)
SHARES_REFERENCES = pytest.mark.xdist_group("cyclegan_fault_references")


@SHARES_REFERENCES
@pytest.mark.parametrize("nproc", [1, 2])
def test_kill_9_of_the_job_leaves_no_process_and_the_rerun_ends_like_an_uninterrupted_run(
        tmp_path, crops, reference, nproc):
    expected = reference(nproc)
    out = tmp_path / "run"
    job = start(crops, out, nproc)
    at_a_random_step(job, out, seed=nproc)
    assert len(processes_of(out)) == (2 + nproc if nproc > 1 else 2)  # launcher (+ torchrun) + workers
    killed = time.monotonic()
    os.killpg(job.pid, signal.SIGKILL)  # what Snakemake and qdel do
    job.wait()
    time.sleep(max(0.0, killed + 5 - time.monotonic()))
    assert processes_of(out) == [], "processes of the killed run still live 5 s after the kill"

    run_to_end(crops, out, nproc)  # the same command again
    assert "resumed from" in log_of(out)
    assert_same_weights(final_weights(out), expected)


@SHARES_REFERENCES
def test_sigterm_stops_a_2_process_run_with_a_checkpoint_and_the_rerun_ends_like_an_uninterrupted_run(
        tmp_path, crops, reference):
    expected = reference(2)
    out = tmp_path / "run"
    job = start(crops, out, 2)
    at_a_random_step(job, out, seed=3)
    before = RunPaths(out).saved_checkpoints()
    signalled = time.monotonic()
    os.killpg(job.pid, signal.SIGTERM)  # a walltime: the launcher forwards it to the workers
    assert job.wait(timeout=30) == 128 + signal.SIGTERM, log_of(out)
    assert time.monotonic() - signalled < 30
    after = RunPaths(out).saved_checkpoints()
    assert after[-1] not in before, "the stop wrote no checkpoint"
    assert "stopped on SIGTERM" in log_of(out)
    time.sleep(1)
    assert processes_of(out) == []

    run_to_end(crops, out, 2)
    assert_same_weights(final_weights(out), expected)


def test_a_stop_signal_mid_epoch_checkpoints_that_step_and_resumes_exactly(tmp_path, crops, monkeypatch):
    """In one process: SIGTERM during step 2 of epoch 2 stops after step 3 with a checkpoint of
    that step; the resumed run ends with the weights and the losses of an uninterrupted one."""
    settings = replace(RUN, n_epochs=1, n_epochs_decay=1)
    whole = CycleGANTrainer(settings, CPU, *crops, tmp_path / "whole")
    whole.fit()

    calls = []
    original = CycleGANTrainer.train_step

    def train_step(self, micro):
        calls.append(1)
        if len(calls) == 6:  # epoch 2, step 2
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, micro)

    monkeypatch.setattr(CycleGANTrainer, "train_step", train_step)
    stopped = CycleGANTrainer(settings, CPU, *crops, tmp_path / "stopped")
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingStopped) as stop:
        stopped.fit()
    assert stop.value.code == 143 and len(calls) == 7  # the vote cast after step 2 is read after step 3
    assert signal.getsignal(signal.SIGTERM) is handler  # restored
    paths = RunPaths(tmp_path / "stopped")
    assert [p.name for p in paths.saved_checkpoints()] == ["epoch_0001.pt", "epoch_0001_step_000003.pt"]
    monkeypatch.setattr(CycleGANTrainer, "train_step", original)

    resumed = CycleGANTrainer(settings, CPU, *crops, tmp_path / "stopped")
    resumed.fit()
    assert (resumed.start_epoch, resumed.start_step) == (1, 3)
    for name, model in whole.models.items():
        for key, value in model.state_dict().items():
            assert torch.equal(resumed.models[name].state_dict()[key], value), f"{name}.{key}"
    for got, expected in zip(resumed.metrics, whole.metrics, strict=True):  # the same loss sums, too
        assert {k: got[k] for k in train_module.LOSS_NAMES} == {k: expected[k] for k in train_module.LOSS_NAMES}


def test_checkpoint_every_k_epochs_and_the_last(tmp_path, crops, monkeypatch):
    settings = replace(RUN, n_epochs=3, n_epochs_decay=2, checkpoint_every=2, batch_size=2)  # 2 steps an epoch
    whole = CycleGANTrainer(settings, CPU, *crops, tmp_path / "whole")
    whole.fit()
    assert [p.name for p in RunPaths(tmp_path / "whole").saved_checkpoints()] == [
        "epoch_0002.pt", "epoch_0004.pt", "epoch_0005.pt"]

    original = CycleGANTrainer.train_epoch

    def killed_in_epoch_4(self, epoch):
        if epoch == 3:
            raise KeyboardInterrupt  # stands for a kill: nothing more is written
        return original(self, epoch)

    monkeypatch.setattr(CycleGANTrainer, "train_epoch", killed_in_epoch_4)
    with pytest.raises(KeyboardInterrupt):
        CycleGANTrainer(settings, CPU, *crops, tmp_path / "killed").fit()
    monkeypatch.setattr(CycleGANTrainer, "train_epoch", original)
    resumed = CycleGANTrainer(settings, CPU, *crops, tmp_path / "killed")
    resumed.fit()
    assert resumed.start_epoch == 2  # epoch 3 was done but not checkpointed: done again
    for name, model in whole.models.items():
        for key, value in model.state_dict().items():
            assert torch.equal(resumed.models[name].state_dict()[key], value), f"{name}.{key}"


def test_loader_workers_persist_across_epochs_and_draw_the_same_batches(tmp_path, crops):
    with_workers = CycleGANTrainer(replace(RUN, num_workers=2), CPU, *crops, tmp_path / "workers")
    without = CycleGANTrainer(RUN, CPU, *crops, tmp_path / "main")
    with_workers.train_epoch(0)
    workers = [w.pid for w in with_workers._data._iterator._workers]
    with_workers.train_epoch(1)
    assert [w.pid for w in with_workers._data._iterator._workers] == workers and len(workers) == 2
    for epoch in (0, 1):
        without.train_epoch(epoch)
    for name, model in without.models.items():
        for key, value in model.state_dict().items():
            assert torch.equal(with_workers.models[name].state_dict()[key], value), f"{name}.{key}"


def test_a_second_training_of_a_held_run_folder_fails_at_once(tmp_path, crops):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(DataError, match=rf"run folder {out} is in use by another training \(pid {holder.pid} "):
            CycleGANTrainer(RUN, CPU, *crops, out).fit()
        assert not RunPaths(out).checkpoints.exists()
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------ non-finite state
def poison(trainer: CycleGANTrainer, value: float) -> torch.utils.hooks.RemovableHandle:
    """Replace the gradient of G_A's first weight by `value` everywhere in the next backward."""
    return next(trainer.models["G_A"].parameters()).register_hook(lambda grad: torch.full_like(grad, value))


def assert_nothing_non_finite_on_disk(out: Path) -> None:
    files = [*out.rglob("*.pt")]
    assert files
    for path in files:
        assert train_module._all_finite(torch.load(path, weights_only=True)), path


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_gradients_in_an_epochs_last_step_are_never_written(tmp_path, crops, monkeypatch, value):
    """The epoch's losses stay finite (the step's losses come before its gradients), its weights do
    not: no checkpoint, no generator snapshot of that epoch, and the error names epoch 1's."""
    settings = replace(RUN, n_epochs=1, n_epochs_decay=1, save_generator_every=1)
    calls = []
    original = CycleGANTrainer.train_step

    def train_step(self, micro):
        calls.append(1)
        handle = poison(self, value) if len(calls) == 8 else None  # the 4th and last step of epoch 2
        try:
            return original(self, micro)
        finally:
            if handle:
                handle.remove()

    monkeypatch.setattr(CycleGANTrainer, "train_step", train_step)
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match=r"G_A, opt_g hold NaN or infinite values after epoch 2; .*"
                                               rf"newest finite checkpoint on disk is {out}/checkpoints/epoch_0001.pt"):
        CycleGANTrainer(settings, CPU, *crops, out).fit()
    paths = RunPaths(out)
    assert [p.name for p in paths.saved_checkpoints()] == ["epoch_0001.pt"]
    assert [p.name for p in paths.saved_generator_snapshots()] == ["G_cg2real_epoch_0001.pt"]
    assert_nothing_non_finite_on_disk(out)


FAULT_SCRIPT = textwrap.dedent(
    """
    import json, sys, torch
    from pathlib import Path
    from cg2real.cyclegan.distributed import init_distributed
    from cg2real.cyclegan.train import CycleGANSettings, CycleGANTrainer, TrainingDiverged
    settings = CycleGANSettings(**json.loads(sys.argv[1]))
    a, b, out = (Path(p) for p in sys.argv[2:5])
    value, at = float(sys.argv[5]), int(sys.argv[6])
    dist = init_distributed("torch", "cpu")
    trainer = CycleGANTrainer(settings, dist, a, b, out)
    step, calls = trainer.train_step, []

    def train_step(micro):
        calls.append(1)
        handle = None
        if len(calls) == at and dist.rank == 1:  # one rank only: G_A's first weight gets `value` gradients
            handle = next(trainer.models["G_A"].parameters()).register_hook(lambda g: torch.full_like(g, value))
        try:
            return step(micro)
        finally:
            if handle:
                handle.remove()

    trainer.train_step = train_step
    try:
        trainer.fit()
    except TrainingDiverged as err:
        (out / f"error{dist.rank}.txt").write_text(str(err))
    dist.close()
    """
)


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_gradients_on_one_of_2_processes_are_never_written(tmp_path, crops, value):
    """DDP spreads one rank's NaN or inf gradient to both ranks' weights: both stop, nothing is written."""
    settings = replace(TINY, n_epochs=1, n_epochs_decay=1, save_generator_every=1)  # 2 steps an epoch
    out = tmp_path / "run"
    out.mkdir()
    script = tmp_path / "fault.py"
    script.write_text(FAULT_SCRIPT)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
               json.dumps(asdict(settings)), *map(str, crops), str(out), str(value), "4"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=STARTUP_S + 120, env=ENV)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    errors = [(out / f"error{rank}.txt").read_text() for rank in (0, 1)]
    assert all("G_A, opt_g hold NaN or infinite values after epoch 2" in error for error in errors)
    assert f"newest finite checkpoint on disk is {out}/checkpoints/epoch_0001.pt" in errors[0]
    paths = RunPaths(out)
    assert [p.name for p in paths.saved_checkpoints()] == ["epoch_0001.pt"]
    assert [p.name for p in paths.saved_generator_snapshots()] == ["G_cg2real_epoch_0001.pt"]
    assert_nothing_non_finite_on_disk(out)
