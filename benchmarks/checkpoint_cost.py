"""What a CycleGAN checkpoint costs, measured on 2 processes and extrapolated to 512 ranks.

Runs the trainer's own `save_checkpoint` in a 2-process torchrun (gloo, CPU) on the paper's
networks (ResNet-9 generators, ngf = ndf = 64) at `--size` px, with Adam's state created (one
step on zero gradients) and both image pools of every rank full (`pool_size` random fakes each,
float32, as training leaves them). Prints, per checkpoint: the bytes of the shared state (rank 0)
and of one rank's pools, the seconds `save_checkpoint` took (serialise, write, rename; the page
cache absorbs the write) and the seconds `os.sync()` then took to put it on disk; and what an
epoch pays for it with `checkpoint_every` 1 (the behaviour before issue 15) and 10.

It also times what a data loader with `--workers` workers costs per epoch before its first batch:
started afresh every epoch (before issue 15) or the trainer's own (`persistent_workers` now; with
`--code` pointing at the code from before issue 15, its loader of that time).

The extrapolation to 512 ranks keeps the measured bytes (they do not depend on the rank count:
rank 0 writes the shared state, every rank its own pools) and the per-step times of
docs/scaling.md (V100 256.7 ms, H100 47.1 ms; 38 steps an epoch at 512 ranks, scale 4).

    python benchmarks/checkpoint_cost.py [--size 256] [--ngf 64] [--pool 50] [--repeats 3] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
import yaml

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
MARK = "RESULT "
# docs/scaling.md: per-step times and steps per epoch at 512 ranks (scale 4, 4,822 samples)
STEP_S = {"V100": 0.2567, "H100": 0.0471}
STEPS_AT_512 = math.ceil(4 * 4822 / 512)


def write_crops(folder: Path, count: int, size: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:04d}.png"), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def worker(args: argparse.Namespace) -> None:
    """Inside the 2-process torchrun: fill the state, time checkpoints and loaders."""
    import torch
    from torch.utils.data import DataLoader

    from cg2real.cyclegan.data import UnpairedCrops
    from cg2real.cyclegan.distributed import init_distributed
    from cg2real.cyclegan.train import CycleGANSettings, CycleGANTrainer
    from cg2real.settings import settings_from_mapping

    defaults = yaml.safe_load(CONFIG.read_text())["cyclegan"]["defaults"]
    known = {f.name for f in fields(CycleGANSettings)}  # runs on the code before issue 15 too (--code)
    defaults = {k: v for k, v in defaults.items() if k in known}
    settings = settings_from_mapping(CycleGANSettings, {
        **defaults, "generator": "resnet_9blocks", "ngf": args.ngf, "ndf": args.ngf, "load_size": args.size,
        "crop_size": args.size, "pool_size": args.pool, "keep_checkpoints": 2, "num_workers": args.workers,
    }, "cyclegan")
    dist = init_distributed("torch", "cpu")
    root = Path(args.root)
    trainer = CycleGANTrainer(settings, dist, root / "a", root / "b", root / f"run{args.size}")
    for optimizer, pair in ((trainer.opt_g, ("G_A", "G_B")), (trainer.opt_d, ("D_A", "D_B"))):
        for name in pair:
            for p in trainer.models[name].parameters():
                p.grad = torch.zeros_like(p)
        optimizer.step()  # creates Adam's two moments per parameter (zero gradients: weights stay)
    generator = torch.Generator().manual_seed(dist.rank)
    for pool in trainer.pools.values():
        pool.images = [torch.rand(3, args.size, args.size, generator=generator) * 2 - 1 for _ in range(args.pool)]

    saves, syncs = [], []
    for epoch in range(1, args.repeats + 1):
        dist.barrier()
        started = time.perf_counter()
        trainer.save_checkpoint(epoch)  # ends with a barrier: the slowest rank's time
        saves.append(time.perf_counter() - started)
        started = time.perf_counter()
        os.sync()
        dist.barrier()
        syncs.append(time.perf_counter() - started)
    checks = []  # the finite check save_checkpoint starts with (issue 15), alone
    for _ in range(args.repeats if hasattr(trainer, "_nonfinite") else 0):
        dist.barrier()
        started = time.perf_counter()
        trainer._nonfinite()
        checks.append(time.perf_counter() - started)
    paths = trainer.paths
    shared = paths.checkpoint(args.repeats).stat().st_size
    pools = paths.pool_state(args.repeats, dist.rank).stat().st_size

    # per-epoch start of the loader: afresh every epoch (as before) or persistent (now)
    def first_batch(loader: DataLoader) -> float:
        started = time.perf_counter()
        next(iter(loader))
        return time.perf_counter() - started

    fresh = []
    for epoch in range(args.repeats):
        shard = list(range(len(trainer.files_a)))
        dataset = UnpairedCrops(trainer.files_a, trainer.files_b, shard, trainer.jitter, (0, epoch, dist.rank))
        fresh.append(first_batch(DataLoader(dataset, batch_size=1, num_workers=args.workers)))
    persistent = [first_batch(trainer._loader(epoch)) for epoch in range(args.repeats + 1)][1:]  # after the 1st
    trainer._data = None
    if dist.is_main:
        print(MARK + json.dumps({"shared_bytes": shared, "pool_bytes_per_rank": pools, "save_s": saves,
                                 "check_s": checks, "sync_s": syncs, "loader_fresh_s": fresh, "loader_persistent_s": persistent}),
              flush=True)
    dist.close()


def report(result: dict, nproc: int, size: int, fs_gbps: float) -> None:
    shared, pool = result["shared_bytes"], result["pool_bytes_per_rank"]
    save, sync = min(result["save_s"]), min(result["sync_s"])
    check = min(result["check_s"]) if result["check_s"] else 0.0
    # save_checkpoint: the finite check, then all ranks write their pools at once, then rank 0 the shared state
    speed = (nproc * pool + shared) / (save - check)
    print(f"## Checkpoint cost at {size} px, {nproc} processes measured")
    print(f"- shared state (rank 0): {shared / 1e6:.1f} MB; pools of one rank: {pool / 1e6:.1f} MB")
    print(f"- one checkpoint: {(shared + nproc * pool) / 1e6:.1f} MB; save_checkpoint {save:.2f} s (best of "
          f"{len(result['save_s'])}), of which the finite check {check:.2f} s and writing "
          f"{save - check:.2f} s ({speed / 1e6:.0f} MB/s); then os.sync {sync:.2f} s")
    print(f"- loader start per epoch, median of {len(result['loader_fresh_s'])}: started afresh "
          f"{np.median(result['loader_fresh_s']):.3f} s, the trainer's {np.median(result['loader_persistent_s']):.3f} s")
    print()
    print(f"Extrapolated to 512 ranks on 128 nodes of 4: the same bytes per rank; writing one checkpoint takes the "
          f"longer of a node writing its 4 ranks' pools and the shared state at the speed measured here, and all of "
          f"it at an assumed {fs_gbps:g} GB/s of the shared file system (the finite check reads each GPU's state "
          f"at memory speed: milliseconds). Epochs of {STEPS_AT_512} steps at the step times of docs/scaling.md.")
    print()
    print("| ranks | checkpoint_every | GB per checkpoint | GB per epoch | s to write a checkpoint "
          "| per V100 epoch | per H100 epoch |")
    print("|---|---|---|---|---|---|---|")
    for ranks in (nproc, 512):
        total = shared + ranks * pool
        seconds = save - check if ranks == nproc else max((4 * pool + shared) / speed, total / (fs_gbps * 1e9))
        for every in (1, 10):
            shares = [f"{seconds / every / (STEPS_AT_512 * step):.0%}" if ranks == 512 else "-"
                      for step in STEP_S.values()]
            print(f"| {ranks} | {every} | {total / 1e9:.2f} | {total / every / 1e9:.2f} | {seconds:.2f} "
                  f"| {shares[0]} | {shares[1]} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--pool", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--fs-gbps", type=float, default=100.0, help="assumed shared file system bandwidth")
    parser.add_argument("--code", help="src folder of another version of cg2real to measure (e.g. a checkout "
                                       "from before issue 15: its loader starts afresh every epoch)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for domain in ("a", "b"):
            write_crops(root / domain, 16, args.size)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", __file__,
                   "--worker", "--root", tmp, *(f"--{k}={getattr(args, k)}" for k in ("size", "ngf", "pool",
                                                                                    "repeats", "workers"))]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        if args.code:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.code, env.get("PYTHONPATH")]))
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
        if done.returncode or not lines:
            raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
        report(json.loads(lines[0][len(MARK):]), 2, args.size, args.fs_gbps)


if __name__ == "__main__":
    main()
