"""Training throughput of the CycleGAN trainer per backend and process count.

Runs the rule's own command (`python -m cg2real launch ... train-cyclegan`: real data loading,
gradient averaging, checkpoints) on generated crops for `--epochs` epochs and prints the images/s
the run logged for its last epoch (the trainer's epoch clock covers the training steps only, not
the checkpoint; epochs after the first leave out the slow first step). Each setup runs
`--repeats` times, round-robin, so load from other programs on a shared machine spreads over
all setups; the table gives the median and the best, and how many cores other programs kept
busy meanwhile (/proc/stat busy time minus the run's own CPU time).

`--threads-per-process T` pins each run to T x processes cores (CPU affinity, inherited by every
process the launcher starts), so the launcher's own split (cores // processes) gives each process
T threads: `--threads-per-process 1` compares 1 process x 1 thread with 2 processes x 1 thread.
Without it each run may use every core (1 process then runs 2 threads on 2 cores). Runs use
config.yaml's CycleGAN defaults, horovod's cycle time (`horovod_cycle_time_ms`) included; the
environment is passed on and wins, so another cycle time is one variable away:
`HOROVOD_CYCLE_TIME=1 python ...` measures horovod's own default.

`--probe` adds a second table, measured with 2 processes x 1 thread: the time one training step
spends averaging gradients (torch/gloo: one all_reduce per network, as DDP sends its one bucket
per network; horovod/gloo: one grouped allreduce per optimiser, as the trainer's
`DistributedOptimizer(groups=1)` does) and the CPU horovod's background thread burns while the
training thread is idle; and a third, the compute-only ceiling: our `train_step` (no
communication, no data loading) in 1 process pinned to one core, against 2 independent such
processes on two cores over the same interval.
What 2 cores give without any communication bounds what 2 training processes can reach here.

On the CPU use a small model (`--ngf 16 --size 64`); the full model (`--ngf 64 --size 256`) is
for the GPU.

    python benchmarks/cyclegan_throughput.py [--size 64] [--ngf 16] [--images 128] [--epochs 2]
        [--threads-per-process 1] [--repeats 3] [--probe] [--device cpu]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

from cg2real.cyclegan.run import RunPaths

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
SETUPS = (("none", 1), ("torch", 1), ("torch", 2), ("horovod", 1), ("horovod", 2))
PROBE_MARK = "PROBE "


def write_crops(folder: Path, count: int, size: int, seed: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:04d}.png"), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def pinning(cores: list[int] | None):
    """A preexec_fn that restricts the child (and all it starts) to `cores`; None: no pinning."""
    if cores is None:
        return None
    return lambda: os.sched_setaffinity(0, cores)


def cores_for(nproc: int, threads_per_process: int) -> list[int] | None:
    """The first threads x nproc cores this process may use, or None for no pinning."""
    if threads_per_process == 0:
        return None
    available = sorted(os.sched_getaffinity(0))
    needed = threads_per_process * nproc
    if needed > len(available):
        raise SystemExit(f"{nproc} processes x {threads_per_process} threads need {needed} cores; "
                         f"{len(available)} available")
    return available[:needed]


def busy_seconds() -> float:
    """CPU seconds this machine has spent busy (all cores, every program), from /proc/stat."""
    with open("/proc/stat") as handle:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, handle.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_usage() -> tuple[float, int]:
    """CPU seconds and context switches (voluntary + involuntary) of all finished child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_nvcsw + usage.ru_nivcsw


def run_training(backend: str, nproc: int, crops: Path, settings: dict, device: str, out: Path,
                 cores: list[int] | None) -> dict[str, float] | None:
    """One run: images/s of its last epoch; the cores other programs kept busy meanwhile (machine
    busy time minus this run's CPU time, over the run's wall time); and the run's CPU seconds and
    context switches (all its processes and threads, start-up included). None if it failed."""
    command = [sys.executable, "-m", "cg2real", "launch", "--backend", backend, "--nproc", str(nproc), "--",
               "train-cyclegan", "--crops-a", str(crops / "a"), "--crops-b", str(crops / "b"), "--out", str(out),
               "--settings", json.dumps(settings), "--backend", backend, "--device", device]
    busy, (cpu, switches), started = busy_seconds(), children_usage(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, preexec_fn=pinning(cores))
    wall = time.perf_counter() - started
    cpu_after, switches_after = children_usage()
    if done.returncode != 0:
        print(f"{backend} x{nproc}: failed ({done.stderr.strip().splitlines()[-1] if done.stderr else '?'})")
        return None
    with RunPaths(out).metrics.open() as handle:
        rate = float(list(csv.DictReader(handle))[-1]["images_per_s"])
    return {"rate": rate, "others": max(0.0, ((busy_seconds() - busy) - (cpu_after - cpu)) / wall),
            "cpu": cpu_after - cpu, "switches": switches_after - switches}


# ------------------------------------------------------------------ gradient-averaging probe
def probe_worker(backend: str, generator: str, ngf: int, steps: int) -> None:
    """Inside a 2-process launch: time gradient averaging shaped like one training step's."""
    import torch

    from cg2real.cyclegan.distributed import init_distributed
    from cg2real.cyclegan.networks import define_discriminator, define_generator

    dist = init_distributed(backend, "cpu", yaml.safe_load(CONFIG.read_text())["cyclegan"]["defaults"]
                            ["horovod_cycle_time_ms"])
    networks = {"G": [define_generator(generator, ngf) for _ in range(2)],
                "D": [define_discriminator("basic", ngf) for _ in range(2)]}
    gradients = {k: [[torch.randn_like(p) for p in net.parameters()] for net in nets] for k, nets in networks.items()}
    if backend == "horovod":
        hvd = dist.hvd

        def average(name: str, per_network: list) -> None:  # what DistributedOptimizer(groups=1) does per step
            tensors = [t for network in per_network for t in network]
            hvd.synchronize(hvd.grouped_allreduce_async_(tensors, name=name, op=hvd.Average))
    else:
        def average(name: str, per_network: list) -> None:  # DDP: one bucket per network
            for network in per_network:
                flat = torch.cat([t.reshape(-1) for t in network])
                torch.distributed.all_reduce(flat)
                flat /= dist.world_size
    result = {"floats": {k: sum(t.numel() for net in v for t in net) for k, v in gradients.items()}}
    for name, tensors in gradients.items():
        for _ in range(3):
            average(name, tensors)
        dist.barrier()
        started = time.perf_counter()
        for _ in range(steps):
            average(name, tensors)
        result[f"{name}_ms"] = (time.perf_counter() - started) / steps * 1000
    dist.barrier()
    cpu, wall = time.process_time(), time.perf_counter()
    time.sleep(2.0)  # the training thread idles: what runs now is the backend's own threads
    result["idle_cpu"] = (time.process_time() - cpu) / (time.perf_counter() - wall)
    dist.barrier()
    if dist.is_main:
        print(PROBE_MARK + json.dumps(result), flush=True)
    dist.close()


def run_probe(backend: str, generator: str, ngf: int, steps: int) -> dict | None:
    worker = [str(Path(__file__).resolve()), "--probe-worker", backend, "--generator", generator,
              "--ngf", str(ngf), "--probe-steps", str(steps)]
    if backend == "torch":
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *worker]
    else:
        command = [str(Path(sys.executable).with_name("horovodrun")), "-np", "2", "-H", "localhost:2", "--gloo",
                   sys.executable, *worker]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, preexec_fn=pinning(cores_for(2, 1)))
    for line in done.stdout.splitlines():
        if PROBE_MARK in line:
            return json.loads(line.split(PROBE_MARK, 1)[1])
    print(f"probe {backend}: failed ({done.stderr.strip().splitlines()[-1] if done.stderr else '?'})")
    return None


# ------------------------------------------------------------------ compute-only ceiling
def compute_worker(generator: str, ngf: int, size: int, steps: int, start_at: float) -> None:
    """One process, no communication, no data loading: our train_step on fixed batches, timed
    from `start_at` (so that concurrently started workers time the same interval)."""
    from reference_step import demo_settings, make_trainer, random_batches

    batches = random_batches(size)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = make_trainer(demo_settings(generator, ngf, size), Path(tmp))
        for i in range(5):
            trainer.train_step([batches[i % len(batches)]])
        time.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()
        for i in range(steps):
            trainer.train_step([batches[i % len(batches)]])
        print(PROBE_MARK + json.dumps({"steps_per_s": steps / (time.perf_counter() - started)}), flush=True)


def run_compute(count: int, generator: str, ngf: int, size: int, steps: int) -> float:
    """Summed steps/s of `count` independent 1-thread workers, each pinned to its own core."""
    start_at = time.time() + 20  # past every worker's start-up and warm-up
    worker = [sys.executable, str(Path(__file__).resolve()), "--compute-worker", "--generator", generator,
              "--ngf", str(ngf), "--size", str(size), "--probe-steps", str(steps), "--start-at", str(start_at)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cores = cores_for(count, 1)
    running = [subprocess.Popen(worker, stdout=subprocess.PIPE, text=True, env=env, preexec_fn=pinning([core]))
               for core in cores]
    total = 0.0
    for process in running:
        out, _ = process.communicate()
        total += json.loads(out.split(PROBE_MARK, 1)[1])["steps_per_s"]
    return total


# ------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--ngf", type=int, default=16)
    parser.add_argument("--generator", default="resnet_6blocks")
    parser.add_argument("--images", type=int, default=128, help="crops per domain = steps x processes per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run; the last one is reported")
    parser.add_argument("--threads-per-process", type=int, default=0,
                        help="pin each run to this many cores per process (0: no pinning)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--setups", nargs="+", default=[f"{b}{n}" for b, n in SETUPS],
                        help="backend and process count, e.g. none1 torch2 horovod2")
    parser.add_argument("--probe", action="store_true", help="also time gradient averaging per step")
    parser.add_argument("--probe-steps", type=int, default=50)
    parser.add_argument("--probe-worker", choices=["torch", "horovod"], help=argparse.SUPPRESS)
    parser.add_argument("--compute-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.probe_worker:
        probe_worker(args.probe_worker, args.generator, args.ngf, args.probe_steps)
        return
    if args.compute_worker:
        compute_worker(args.generator, args.ngf, args.size, args.probe_steps, args.start_at)
        return
    setups = [(s.rstrip("0123456789"), int(s[len(s.rstrip("0123456789")):])) for s in args.setups]
    settings = {**yaml.safe_load(CONFIG.read_text())["cyclegan"]["defaults"],
                "generator": args.generator, "ngf": args.ngf, "ndf": args.ngf, "load_size": args.size,
                "crop_size": args.size, "n_epochs": args.epochs, "n_epochs_decay": 0, "scale": 1.0,
                "num_workers": 0}
    threads = (f"{args.threads_per_process} thread(s) per process (pinned to {args.threads_per_process} core(s) "
               f"per process)" if args.threads_per_process else "unpinned (launcher: cores // processes threads)")
    runs: dict[tuple[str, int], list[dict[str, float]]] = {setup: [] for setup in setups}
    with tempfile.TemporaryDirectory() as tmp:
        crops = Path(tmp) / "crops"
        write_crops(crops / "a", args.images, args.size, 0)
        write_crops(crops / "b", args.images, args.size, 1)
        for repeat in range(args.repeats):
            for backend, nproc in setups:
                out = Path(tmp) / f"{backend}{nproc}_{repeat}"
                found = run_training(backend, nproc, crops, settings, args.device, out,
                                     cores_for(nproc, args.threads_per_process))
                if found is not None:
                    runs[(backend, nproc)].append(found)
    images = args.images * args.epochs
    print(f"{args.generator} ngf {args.ngf}, {args.size}x{args.size}, batch 1 per process, {args.images} images "
          f"per epoch, last of {args.epochs} epochs, {threads}, device {args.device}, median (best) of "
          f"{args.repeats} runs. Medians over the runs: 'others' = cores other programs kept busy; CPU s and "
          f"context switches of all the run's processes per image trained (whole run, start-up included)")
    print("| backend | processes | images/s | vs 1 process, same backend | vs none x1 | others "
          "| CPU s / image | switches / image |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    medians = {setup: statistics.median(r["rate"] for r in found) for setup, found in runs.items() if found}
    for (backend, nproc), found in runs.items():
        if not found:
            continue
        rate = medians[(backend, nproc)]
        same = medians.get((backend, 1))
        none = medians.get(("none", 1))
        middle = {key: statistics.median(r[key] for r in found) for key in ("others", "cpu", "switches")}
        print(f"| {backend} | {nproc} | {rate:.2f} ({max(r['rate'] for r in found):.2f}) "
              f"| {f'{rate / same:.2f}x' if same else '-'} | {f'{rate / none:.2f}x' if none else '-'} "
              f"| {middle['others']:.2f} | {middle['cpu'] / images:.3f} | {middle['switches'] / images:.0f} |")
    if args.probe:
        step_ms = 1000 / medians[("none", 1)] if ("none", 1) in medians else None
        print()
        print("Gradient averaging per training step, 2 processes x 1 thread (mean of "
              f"{args.probe_steps} steps); idle CPU = cores busy while the training thread sleeps")
        print("| backend | floats G + D | G ms | D ms | total ms | of a 1x1 step | idle CPU |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for backend in ("torch", "horovod"):
            found = run_probe(backend, args.generator, args.ngf, args.probe_steps)
            if found is None:
                continue
            total = found["G_ms"] + found["D_ms"]
            share = f"{total / step_ms:.0%}" if step_ms else "-"
            print(f"| {backend} | {found['floats']['G']:,} + {found['floats']['D']:,} | {found['G_ms']:.1f} "
                  f"| {found['D_ms']:.1f} | {total:.1f} | {share} | {found['idle_cpu']:.0%} of a core |")
        print()
        print("Compute-only ceiling: our train_step without communication or data loading, 1 thread per "
              f"process, each pinned to its own core, {args.probe_steps} steps timed over the same interval, "
              f"median (best) of {args.repeats} alternating rounds")
        print("| independent processes | steps/s, all processes | vs 1 process |")
        print("| --- | --- | --- |")
        alone, pair = [], []
        for _ in range(args.repeats):
            alone.append(run_compute(1, args.generator, args.ngf, args.size, args.probe_steps))
            pair.append(run_compute(2, args.generator, args.ngf, args.size, args.probe_steps))
        for count, found in ((1, alone), (2, pair)):
            print(f"| {count} | {statistics.median(found):.2f} ({max(found):.2f}) "
                  f"| {statistics.median(found) / statistics.median(alone):.2f}x |")


if __name__ == "__main__":
    main()
