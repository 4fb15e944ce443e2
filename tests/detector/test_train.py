"""Detector training: the paper's length and learning-rate rules, and real ultralytics runs.

ultralytics reads its offline switches when first imported, so real training runs in fresh
Python processes and this one never imports ultralytics. The fault tests (issue 15) kill, stop
and rerun real trainings, as a scheduler, a user and Snakemake would.
"""

from __future__ import annotations

import csv
import json
import shutil
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

from cg2real.detector.dataset import FrameSource, assemble_condition_set
from cg2real.detector.records import BEST_MAP50, MAP50_KEY, TRAIN_SUMMARY
from cg2real.detector.train import (DetectorTrainSettings, check_init, epochs_for_iterations, large_batch_warning,
                                    learning_rate, train_arguments)
from cg2real.errors import DataError
from tests.detector.test_darknet import darknet53_arrays, write_darknet
from tests.detector.test_dataset import yolo_set

TINY = DetectorTrainSettings(
    model="yolov3-tinyu.yaml", width_multiple=0.125, init="scratch", weights=None, imgsz=64, batch=4,
    iterations=6, optimizer="SGD", lr0=0.5, lr_scaling="linear", lr_per_image=0.0025, schedule="ultralytics",
    lrf=0.01, momentum=0.9, weight_decay=0.0005, warmup_epochs=0.0, warmup_momentum=0.8, warmup_bias_lr=0.1,
    burn_in=1000, multi_scale=0.0, mosaic=0.0, val_every_iterations=1, selection="eval_set",
    selection_fraction=0.1, workers=0, threads=1, seed=0, amp=False, batch_fraction_warning=0.09, plots=False,
)
# Learns box_set() in a few epochs: 60 iterations x 4 frames / 16 frames = 15 epochs; on this CPU
# install mAP@0.5 first reaches its ceiling (0.995) at epoch 9 of 15, and no later epoch can beat it.
EASY = replace(TINY, width_multiple=0.25, iterations=60, optimizer="Adam", lr0=0.01, lr_scaling="none")
EASY_EPOCHS = 15
CEILING = 0.99  # mAP@0.5 of a perfect detector is 0.995 in ultralytics

# Trains in a fresh process. Modes (comma-separated): "save_every_epoch" also keeps ultralytics'
# per-epoch checkpoints epoch{N-1}.pt of epoch N; "kill_at_ceiling" kill -9s the process right after
# saving the first epoch whose mAP@0.5 reaches CEILING; "record_resume" writes resume_state.json,
# comparing what the resumed trainer loaded with before.pt, a copy of last.pt taken before the rerun;
# "check_published" writes published.json: the declared checkpoint's mAP@0.5, the epoch its results
# end at, and which epoch{N-1}.pt files hold the same weights.
SCRIPT = textwrap.dedent(
    """
    import json, logging, os, shutil, signal, sys
    from pathlib import Path
    from cg2real.detector import train
    from cg2real.detector.offline import configure_ultralytics_offline
    from cg2real.settings import settings_from_mapping

    logging.basicConfig(level=logging.INFO)
    settings = settings_from_mapping(train.DetectorTrainSettings, json.loads(sys.argv[1]), "detector.train")
    work, modes, ceiling = Path(sys.argv[2]), sys.argv[3].split(","), float(sys.argv[4])
    run, weights, map50 = work / "run", work / "run" / "ultralytics" / "weights", "metrics/mAP50(B)"
    # the hooks need ultralytics now: configure the folder train_detector would, and skip its own call
    configure_ultralytics_offline(run / "ultralytics_settings")
    train.configure_ultralytics_offline = lambda folder: folder
    import torch
    from ultralytics.utils.callbacks import default_callbacks
    from ultralytics.utils.torch_utils import unwrap_model

    def load(path):
        return torch.load(path, map_location="cpu", weights_only=False)

    def same(live, saved):
        return live.keys() == saved.keys() and all(torch.equal(live[k].float(), saved[k].float()) for k in saved)

    def kill_at_ceiling(trainer):
        if trainer.metrics[map50] >= ceiling:
            os.kill(os.getpid(), signal.SIGKILL)

    def record_resume(trainer):
        before = load(work / "before.pt")
        saved, live = before["optimizer"]["state"], trainer.optimizer.state_dict()["state"]
        (work / "resume_state.json").write_text(json.dumps({
            "start_epoch": trainer.start_epoch,
            "checkpoint_epoch": before["epoch"],
            "model_equals_checkpoint": same(unwrap_model(trainer.model).state_dict(), before["ema"].state_dict()),
            "ema_equals_checkpoint": same(trainer.ema.ema.state_dict(), before["ema"].state_dict()),
            "ema_updates": [trainer.ema.updates, before["updates"]],
            "optimizer_states": [len(live), len(saved)],
            "optimizer_equals_checkpoint": live.keys() == saved.keys() and all(same(live[i], saved[i]) for i in saved),
            "optimizer_state_nonzero": any(bool(v.abs().sum() > 0) for state in live.values() for v in state.values()
                                           if torch.is_tensor(v) and v.is_floating_point()),
        }))

    if "save_every_epoch" in modes:
        arguments = train.train_arguments
        train.train_arguments = lambda *args: {**arguments(*args), "save_period": 1}
    if "kill_at_ceiling" in modes:
        default_callbacks["on_model_save"].append(kill_at_ceiling)
    if "record_resume" in modes:
        shutil.copyfile(weights / "last.pt", work / "before.pt")
        default_callbacks["on_pretrain_routine_end"].append(record_resume)
    train.train_detector(settings, work / "cond" / "data.yaml", "cpu", run)
    if "check_published" in modes:
        published = load(run / "best_map50.pt")
        epochs = sorted(weights.glob("epoch*.pt"), key=lambda p: int(p.stem[5:]))
        (work / "published.json").write_text(json.dumps({
            "map50": published["train_metrics"][map50],
            "results_end_at_epoch": len(published["train_results"]["epoch"]),
            "same_weights_as_epochs": [int(p.stem[5:]) + 1 for p in epochs
                                       if same(published["model"].state_dict(), load(p)["ema"].state_dict())],
        }))
    """
)


def test_iterations_become_epochs_of_the_condition_set():
    assert epochs_for_iterations(5000, 64, 500) == 640  # the paper's row a
    assert epochs_for_iterations(5000, 64, 1517) == 211  # rows b-g: more frames, fewer epochs
    assert epochs_for_iterations(1, 1, 10) == 1
    with pytest.raises(DataError):
        epochs_for_iterations(10, 4, 0)


def test_learning_rate_rules():
    assert learning_rate(replace(TINY, lr_scaling="none")) == 0.5
    assert learning_rate(TINY) == pytest.approx(4 * 0.0025)  # k x n x eta with k x n = 4
    arguments = train_arguments(TINY, Path("d.yaml"), 3, "cpu", Path("out"))
    assert arguments["nbs"] == arguments["batch"] == 4  # one step per batch: no accumulation
    assert arguments["optimizer"] == "SGD" and arguments["lr0"] == pytest.approx(0.01)


def test_the_schedule_presets_reach_ultralytics_as_arguments():
    ultralytics = train_arguments(replace(TINY, warmup_epochs=3.0), Path("d.yaml"), 3, "cpu", Path("out"))
    assert (ultralytics["warmup_epochs"], ultralytics["warmup_bias_lr"], ultralytics["lrf"]) == (3.0, 0.1, 0.01)
    darknet = train_arguments(replace(TINY, schedule="darknet", warmup_epochs=3.0), Path("d.yaml"), 3, "cpu", Path("o"))
    assert darknet["warmup_epochs"] == 0.0 and darknet["lrf"] == 1.0  # the trainer sets each iteration's rate
    assert darknet["momentum"] == 0.9 and darknet["weight_decay"] == 0.0005 and not darknet["cos_lr"]
    assert darknet["patience"] == 0  # no early stopping: all iterations run, as in the paper
    assert train_arguments(replace(TINY, multi_scale=0.5), Path("d.yaml"), 3, "cpu", Path("o"))["multi_scale"] == 0.5


def test_init_decides_what_weights_name_and_what_ultralytics_loads(tmp_path):
    checkpoint, darknet = tmp_path / "yolov3u.pt", tmp_path / "darknet53.conv.74"
    checkpoint.write_bytes(b"pt")
    darknet.write_bytes(b"darknet")
    coco = replace(TINY, init="coco_detector", weights=str(checkpoint))
    imagenet = replace(TINY, init="imagenet_backbone", weights=str(darknet))
    for settings in (TINY, coco, imagenet):
        check_init(settings)
    assert train_arguments(coco, Path("d.yaml"), 3, "cpu", tmp_path)["pretrained"] == str(checkpoint)
    assert train_arguments(imagenet, Path("d.yaml"), 3, "cpu", tmp_path)["pretrained"] is False  # the trainer loads it
    assert train_arguments(TINY, Path("d.yaml"), 3, "cpu", tmp_path)["pretrained"] is False
    with pytest.raises(DataError, match="init = scratch, but weights = .*yolov3u.pt: set weights to null"):
        check_init(replace(TINY, weights=str(checkpoint)))
    with pytest.raises(DataError, match="init = imagenet_backbone needs detector.train.weights: the path of darknet"):
        check_init(replace(imagenet, weights=None))
    with pytest.raises(DataError, match="weights = .*nowhere.74: file not found; put darknet's Darknet-53 ImageNet "
                                        "weights, darknet53.conv.74 there"):
        check_init(replace(imagenet, weights=str(tmp_path / "nowhere.74")))


@pytest.mark.parametrize("config", ["config.yaml", "config/paper.yaml"])
def test_the_configs_are_training_settings(config):
    import yaml

    from cg2real.settings import settings_from_mapping

    section = yaml.safe_load((Path(__file__).resolve().parents[2] / config).read_text())["detector"]["train"]
    settings = settings_from_mapping(DetectorTrainSettings, section, "detector.train")
    if config == "config.yaml":  # the demo: fast, from scratch, ultralytics' schedule
        check_init(settings)
        assert (settings.init, settings.schedule, settings.multi_scale) == ("scratch", "ultralytics", 0.0)
    else:  # the paper's setting of each choice
        assert (settings.init, Path(settings.weights).name) == ("imagenet_backbone", "darknet53.conv.74")
        assert (settings.schedule, settings.burn_in) == ("darknet", 1000)
        assert (settings.momentum, settings.weight_decay) == (0.9, 5e-4)
        assert settings.multi_scale > 0 and settings.selection == "eval_set"
        assert settings.iterations // settings.val_every_iterations < 100  # not 640 validations for row a


def training(work: Path, mode: str, settings: DetectorTrainSettings = TINY) -> subprocess.CompletedProcess:
    """Run SCRIPT in `work` (cond/ in, run/ out); the exit status is the caller's to check."""
    return subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(asdict(settings)), str(work), mode, str(CEILING)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)


def run_training(work: Path, mode: str, settings: DetectorTrainSettings = TINY) -> subprocess.CompletedProcess:
    done = training(work, mode, settings)
    assert done.returncode == 0, done.stdout[-3000:]
    return done


def read_results(run: Path) -> list[dict]:
    """ultralytics' per-epoch rows; a line still being written is left out."""
    path = run / "ultralytics" / "results.csv"
    if not path.is_file():
        return []
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]
    return [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(lines)]


def map50s(run: Path) -> list[float]:
    """mAP@0.5 by epoch; fails if an epoch is missing or repeated (the fault tests never redo one)."""
    rows = read_results(run)
    assert [int(r["epoch"]) for r in rows] == list(range(1, len(rows) + 1))
    return [float(r[MAP50_KEY]) for r in rows]


def first_best_epoch(values: list[float]) -> int:
    """The epoch the trainer must keep: the first one with the highest mAP@0.5 (later ties do not win)."""
    return values.index(max(values)) + 1


def box_set(root: Path, count: int, seed: int, prefix: str) -> Path:
    """A YOLO folder of black 64 px frames with one big white box each: a tiny detector learns it in a
    few epochs, so mAP@0.5 is far from zero and reaches its ceiling before a run of EASY ends."""
    rng = np.random.default_rng(seed)
    for folder in ("images", "labels"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = rng.integers(0, 1, (64, 64, 3)).astype(np.uint8)
        w, h = rng.integers(24, 40, 2)
        x0, y0 = rng.integers(0, 64 - w), rng.integers(0, 64 - h)
        image[y0:y0 + h, x0:x0 + w] = 255
        assert cv2.imwrite(str(root / "images" / f"{prefix}{i:03d}.png"), image)
        box = ((x0 + w / 2) / 64, (y0 + h / 2) / 64, w / 64, h / 64)
        (root / "labels" / f"{prefix}{i:03d}.txt").write_text("0 " + " ".join(map(str, box)) + "\n")
    return root


def easy_condition(work: Path) -> Path:
    real, val = box_set(work / "real", 16, 1, "f"), box_set(work / "val", 8, 2, "v")
    assemble_condition_set([FrameSource(real, "all", "real_")], val, 0, work / "cond")
    return work


def simulate_snakemake_after_failure(run: Path) -> None:
    """Snakemake deletes the declared outputs of a failed job (not ultralytics' run folder beside them)."""
    for name in (BEST_MAP50, TRAIN_SUMMARY):
        (run / name).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("detector")
    real = yolo_set(work / "real", [f"r{i}" for i in range(8)])
    val = yolo_set(work / "val", [f"v{i}" for i in range(3)])
    assemble_condition_set([FrameSource(real, "all", "real_")], val, 0, work / "cond")
    run_training(work, "save_every_epoch")
    return work


def test_the_configured_learning_rate_is_the_one_used(trained):
    rows = read_results(trained / "run")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]  # 6 iterations x 4 frames / 8 frames
    assert float(rows[0]["lr/pg0"]) == pytest.approx(0.01, rel=1e-6)  # not lr0 = 0.5, not ultralytics' own
    summary = json.loads((trained / "run/train_summary.json").read_text())
    assert summary["lr0"] == pytest.approx(0.01) and summary["epochs"] == 3


def test_a_finished_run_publishes_its_best_and_reads_as_finished(trained):
    run = trained / "run"
    summary = json.loads((run / TRAIN_SUMMARY).read_text())
    assert summary["best"]["epoch"] == first_best_epoch(map50s(run))  # all 0 on noise: the first epoch
    assert (run / BEST_MAP50).stat().st_size > 0
    assert not (run / "ultralytics/weights" / BEST_MAP50).exists()  # published: a rerun starts afresh
    assert not list(run.rglob("*.partial"))


def test_a_killed_run_resumes_from_its_last_epoch(trained):
    """Resume, not a retrain: the trainer starts at the next epoch with the weights, EMA and optimiser
    state of last.pt, and the rerun adds the remaining epoch only. A retrain from scratch fails each."""
    run, weights = trained / "run", trained / "run/ultralytics/weights"
    shutil.copyfile(weights / "epoch1.pt", weights / "last.pt")  # as if killed after epoch 2 of 3
    simulate_snakemake_after_failure(run)
    rows_before = (run / "ultralytics/results.csv").read_text().splitlines()
    done = run_training(trained, "record_resume")
    assert "resuming detector training from" in done.stdout
    state = json.loads((trained / "resume_state.json").read_text())
    assert state["checkpoint_epoch"] == 1 and state["start_epoch"] == 2  # 0-based: epoch 3 of 3 is next
    assert state["model_equals_checkpoint"] and state["ema_equals_checkpoint"]
    assert state["ema_updates"][0] == state["ema_updates"][1] == 2 * 2  # 2 epochs of 2 steps
    assert state["optimizer_states"][0] == state["optimizer_states"][1] > 0
    assert state["optimizer_equals_checkpoint"] and state["optimizer_state_nonzero"]
    rows_after = (run / "ultralytics/results.csv").read_text().splitlines()
    assert rows_after[:len(rows_before)] == rows_before  # a fresh start deletes the old rows
    assert [line.split(",")[0].strip() for line in rows_after[len(rows_before):]] == ["3"]
    assert json.loads((run / TRAIN_SUMMARY).read_text())["epochs"] == 3


def test_kill_9_after_the_best_epoch_keeps_it(tmp_path):
    """kill -9 right after the first epoch at the mAP ceiling; Snakemake then deletes the declared
    outputs and the rerun resumes. Later epochs can only tie, so the kept checkpoint must be the
    killed run's: the rerun finishes with that epoch's weights, on data where mAP@0.5 is not zero."""
    work = easy_condition(tmp_path)
    killed = training(work, "save_every_epoch,kill_at_ceiling", EASY)
    assert killed.returncode == -signal.SIGKILL, f"never reached mAP@0.5 {CEILING}? " + killed.stdout[-3000:]
    before = map50s(work / "run")
    assert before[-1] >= CEILING and len(before) < EASY_EPOCHS, before
    simulate_snakemake_after_failure(work / "run")
    run_training(work, "save_every_epoch,check_published", EASY)
    values = map50s(work / "run")
    assert values[:len(before)] == before and len(values) == EASY_EPOCHS
    best = first_best_epoch(values)
    assert best == len(before) and sum(v > 0 for v in values) >= EASY_EPOCHS // 2, values
    summary = json.loads((work / "run" / TRAIN_SUMMARY).read_text())
    assert summary["best"] == {"epoch": best, "map50": pytest.approx(values[best - 1], abs=1e-5)}
    published = json.loads((work / "published.json").read_text())
    assert published["same_weights_as_epochs"] == [best]  # the tensors of that epoch, of no other
    assert published["results_end_at_epoch"] == best
    assert published["map50"] == pytest.approx(values[best - 1], abs=1e-5)


def cli_training(work: Path, log: Path) -> subprocess.Popen:
    """`python -m cg2real train-detector` as the rule runs it."""
    command = [sys.executable, "-m", "cg2real", "train-detector", "--data", str(work / "cond"),
               "--settings", json.dumps(asdict(EASY)), "--device", "cpu", "--out", str(work / "run")]
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_until(condition, process: subprocess.Popen, log: Path, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, f"exited {process.returncode} too early: " + log.read_text()[-3000:]
        assert time.monotonic() < deadline, "timed out: " + log.read_text()[-3000:]
        time.sleep(0.02)


def stop_with(process: subprocess.Popen, signum: int, log: Path) -> tuple[int, float]:
    """Send `signum`; the exit status and the seconds it took to exit."""
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"still running 120 s after {signal.Signals(signum).name}: " + log.read_text()[-3000:])
    return process.returncode, time.monotonic() - sent


def test_sigterm_then_ctrl_c_stop_the_cli_and_the_reruns_resume(tmp_path):
    """Walltime (SIGTERM) once the first epoch is saved, then Ctrl-C (SIGINT) of the rerun after a new
    best epoch: each stops within seconds with the shell's code for the signal (the job is retried),
    each rerun resumes, and the last one finishes with the best epoch of all three runs."""
    work = easy_condition(tmp_path)
    run, last = work / "run", work / "run/ultralytics/weights/last.pt"

    first = cli_training(work, work / "first.log")
    wait_until(last.is_file, first, work / "first.log")
    code, seconds = stop_with(first, signal.SIGTERM, work / "first.log")
    assert code == 128 + signal.SIGTERM and seconds < 60, (code, seconds, (work / "first.log").read_text()[-3000:])
    done_first = len(map50s(run))
    assert 1 <= done_first < EASY_EPOCHS - 3 and last.is_file()
    simulate_snakemake_after_failure(run)

    def new_best_or_late() -> bool:
        values = read_results(run)
        values = [float(r[MAP50_KEY]) for r in values]
        if len(values) <= done_first:
            return False
        return len(values) >= EASY_EPOCHS - 2 or (values[-1] > 0 and values[-1] > max(values[:-1]))

    second = cli_training(work, work / "second.log")
    wait_until(new_best_or_late, second, work / "second.log")
    code, seconds = stop_with(second, signal.SIGINT, work / "second.log")
    assert code == 128 + signal.SIGINT and seconds < 60, (code, seconds, (work / "second.log").read_text()[-3000:])
    assert f"from epoch {done_first + 1} to {EASY_EPOCHS} total epochs" in (work / "second.log").read_text()
    done_second = len(map50s(run))
    assert done_first < done_second < EASY_EPOCHS
    simulate_snakemake_after_failure(run)

    third = run_training(work, "check_published", EASY)
    assert f"from epoch {done_second + 1} to {EASY_EPOCHS} total epochs" in third.stdout
    assert f"{EASY_EPOCHS - done_second} epochs completed" in third.stdout  # a retrain would do all
    values = map50s(run)
    best = first_best_epoch(values)
    assert len(values) == EASY_EPOCHS and max(values) > 0
    assert json.loads((run / TRAIN_SUMMARY).read_text())["best"]["epoch"] == best
    published = json.loads((work / "published.json").read_text())
    assert published["results_end_at_epoch"] == best  # the published weights were saved at that epoch
    assert published["map50"] == pytest.approx(values[best - 1], abs=1e-5)


def test_a_rerun_resumes_publishes_or_starts_afresh(tmp_path):
    """What a rerun does with the run folder it finds (train.run_state), on stand-in checkpoints."""
    import torch

    from cg2real.detector.train import run_state

    last, kept = tmp_path / "last.pt", tmp_path / BEST_MAP50

    def save_last(epoch: int, optimizer: dict | None) -> None:
        torch.save({"epoch": epoch, "optimizer": optimizer, "train_args": {"epochs": 3}}, last)

    assert run_state(last, kept) == "fresh"
    last.write_bytes(b"torn")  # unreadable: no resume
    assert run_state(last, kept) == "fresh"
    save_last(1, {"state": {}})  # killed after epoch 2 of 3
    assert run_state(last, kept) == "resume"
    save_last(2, {"state": {}})  # killed after the last epoch's save: ultralytics would refuse to resume
    assert run_state(last, kept) == "fresh"
    kept.write_bytes(b"kept")
    assert run_state(last, kept) == "publish"
    save_last(-1, None)  # the loop ended (optimiser stripped) but the best was not yet published
    assert run_state(last, kept) == "publish"
    kept.unlink()  # published: a rerun of the job (changed settings or inputs) trains from scratch
    assert run_state(last, kept) == "fresh"


def test_a_stop_signal_is_noted_then_raised_with_its_exit_code():
    from cg2real.detector import stop

    before = signal.getsignal(signal.SIGTERM)
    with stop.stop_on_signals():
        stop.check()  # nothing received yet
        signal.raise_signal(signal.SIGTERM)  # noted, not fatal
        assert stop.received() == signal.SIGTERM
        with pytest.raises(SystemExit) as stopped:
            stop.check()
    assert stopped.value.code == 143 and signal.getsignal(signal.SIGTERM) is before


def test_missing_pretrained_weights_are_named(tmp_path):
    from cg2real.detector.train import train_detector

    with pytest.raises(DataError, match="detector.train.weights = .*yolov3u.pt: file not found"):
        train_detector(replace(TINY, init="coco_detector", weights=str(tmp_path / "yolov3u.pt")),
                       tmp_path / "data.yaml", "cpu", tmp_path)


def test_the_paper_recipe_in_miniature(tmp_path):
    """Darknet-53 backbone (YOLOv3 at 1/8 width, all 52 backbone convolutions), darknet's schedule,
    multi-scale, validation every 4 iterations and a held-out selection split, in one tiny run:
    10 real frames, 2 held out, 8 trained on at batch 4 = 2 iterations an epoch, 8 iterations = 4 epochs."""
    real = yolo_set(tmp_path / "real", [f"r{i}" for i in range(10)])
    val = yolo_set(tmp_path / "val", [f"v{i}" for i in range(3)])
    assemble_condition_set([FrameSource(real, "all", "real_")], val, 0, tmp_path / "cond")
    write_darknet(tmp_path / "darknet53.conv.74", [v for conv in darknet53_arrays(0.125, seed=0) for v in conv])
    paper = replace(TINY, model="yolov3u.yaml", init="imagenet_backbone", weights=str(tmp_path / "darknet53.conv.74"),
                    iterations=8, lr_scaling="none", lr0=0.01, schedule="darknet", burn_in=4, multi_scale=0.5,
                    val_every_iterations=4, selection="held_out", selection_fraction=0.2)
    done = run_training(tmp_path, "", paper)
    assert "Darknet-53 backbone: 52 convolutions from" in done.stdout
    rows = read_results(tmp_path / "run")
    lr = [float(r["lr/pg0"]) for r in rows]  # the rate of each epoch's last iteration: 1, 3, 5, 7
    assert lr == pytest.approx([0.01 * (1 / 4) ** 4, 0.01 * (3 / 4) ** 4, 0.01, 0.01 * 0.01], rel=1e-6)
    assert all(float(r["lr/pg2"]) == float(r["lr/pg0"]) for r in rows)  # no bias warm-up
    validated = [not np.isnan(float(r[MAP50_KEY])) for r in rows]
    assert validated == [False, True, False, True]  # iterations 4 and 8
    summary = json.loads((tmp_path / "run" / TRAIN_SUMMARY).read_text())
    assert summary["init"] == "imagenet_backbone" and summary["schedule"] == "darknet"
    assert summary["best"]["epoch"] == 2  # all 0 on noise: the first validated epoch, never a skipped one
    selection = summary["selection"]
    assert (selection["set"], selection["frames"], selection["train_frames"]) == ("held_out", 2, 8)
    split = tmp_path / "run" / "selection"
    assert sorted(p.name for p in (split / "held_out/images").iterdir()) == sorted(selection["held_out"])
    assert len(list((split / "train/images").iterdir())) == 8


def test_a_batch_past_nine_percent_of_the_training_frames_is_warned_about():
    """Paper 004's sign: the paper's row a (batch 64 on 500 real frames) is past it; 9% of 1,517 is not."""
    assert "64 is 12.8% of the 500 training frames" in large_batch_warning(64, 500, 0.09)
    assert large_batch_warning(64, 1517, 0.09) is None
    assert large_batch_warning(45, 500, 0.09) is None  # exactly 9%: not past it
