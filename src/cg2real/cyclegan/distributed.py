"""One small interface over the three ways a CycleGAN run is distributed: none, torch, horovod.

The trainer never asks which backend runs it. It gets a `Distributed` object and calls
`wrap_model` and `wrap_optimizer` once, `accumulating` around the backward passes of all but the
last of k accumulated samples, `average` for logged numbers and `broadcast_state` once at the
start; I/O is guarded by `is_main`.

Rank and world size come from the environment the launcher sets (`torchrun`: RANK, WORLD_SIZE,
LOCAL_RANK; `horovodrun`/`mpirun`: horovod's own), as in nanoGPT; nothing here spawns processes.

Gradients: the torch backend wraps each network in DistributedDataParallel, which averages a
network's gradients in one bucket (`bucket_cap_mb`) as soon as its backward has produced them, so
one network's allreduce overlaps the backward of the next (on GPUs); horovod's
DistributedOptimizer averages in `step()`, one grouped allreduce per optimiser, with horovod's fusion
buffer sized to the largest group (`fusion_threshold_bytes`) so that no group is split. A CycleGAN step
runs each generator on three inputs (translation, cycle, identity; in 2 calls of G_A and 1 of G_B)
before one backward, and the
generators' loss calls the discriminators while they are frozen; DDP handles both (one gradient
per parameter per backward; frozen parameters are skipped), which the 2-process equality test
checks against one process.

`fp16_allreduce` sends the gradients as float16 (half the bytes; the weights, the optimiser and the
arithmetic stay float32): DDP's `fp16_compress_hook` on each wrapped network, horovod's
`Compression.fp16` in its optimiser. Paper 004's ChainerMN runs did the same ("FP32 compute, FP16
AllReduce"); paper 000 does not say, and horovod's default (and ours) is float32. One process has
nothing to send, so the switch has no effect there.

A training process dies with its parent (`init_distributed` arms `launch.die_with_parent`), so a
killed job leaves no worker behind; `vote` lets the ranks agree, without stalling a step, that one
of them was asked to stop (SIGTERM), so all stop after the same step.
"""

from __future__ import annotations

import logging
import os

PARENT_AT_START = os.getppid()  # read before the slow imports below, for `die_with_parent`

from collections.abc import Callable, Iterable, MutableMapping
from contextlib import AbstractContextManager, ExitStack, nullcontext

import torch
import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel

from cg2real.launch import LAUNCHER_VARIABLE, die_with_parent, launcher_is_ancestor

log = logging.getLogger(__name__)

BACKENDS = ("none", "torch", "horovod")

# One bucket per network. A network's gradients are complete only after the backward of its last
# use (each generator sees three inputs per step), so G_B's bucket leaves while G_A's last backward
# runs and only G_A's (and D_A's) is exposed; 4 allreduces per step where DDP's default (1 MiB first
# bucket, then 25 MiB) makes 10 at the paper's size. Each allreduce pays a latency that grows with
# the GPUs: docs/scaling.md's model gives, at 512 H200s on 64 nodes, 96.0% for 1 bucket per network,
# 93.9% for 2 and 90.1% for 4 (tree allreduce); on a V100's longer step 2 buckets gain 0.5 points.
DDP_BUCKETS_PER_NETWORK = 1

# horovod fuses a tensor into its buffer padded to 16 bytes (BATCHED_D2D_PADDING, in GPU builds)
HOROVOD_FUSION_ALIGNMENT = 16


class Vote:
    """An OR over the ranks, started by `Distributed.vote`; `result()` waits for it."""

    def __init__(self, wait: Callable[[], bool]) -> None:
        self._wait = wait

    def result(self) -> bool:
        return self._wait()


class Distributed:
    """Single process: every collective is the identity."""

    name = "none"

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.rank = 0
        self.world_size = 1
        self.local_rank = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap_optimizer(self, optimizer: torch.optim.Optimizer, model: torch.nn.Module, prefix: str,
                       backward_passes: int = 1) -> torch.optim.Optimizer:
        """The optimiser to step with (horovod wraps it; `model` names its parameters; the step
        follows `backward_passes` backward calls when k samples are accumulated)."""
        return optimizer

    def wrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to run forward passes through (DDP for the torch backend)."""
        return model

    def accumulating(self, models: Iterable[torch.nn.Module]) -> AbstractContextManager:
        """Context for a backward whose gradients are only accumulated, not yet averaged."""
        return nullcontext()

    def average(self, values: dict[str, float]) -> dict[str, float]:
        """Mean of logged numbers over the ranks."""
        return dict(values)

    def vote(self, flag: bool) -> Vote:
        """Start an OR of `flag` over the ranks without waiting for it. The trainer casts one per
        step and reads it a step later, so the collective runs behind the next step's compute."""
        return Vote(lambda: flag)

    def broadcast_state(self, models: Iterable[torch.nn.Module]) -> None:
        """Make every rank start from rank 0's parameters (for torch, `wrap_model`'s DDP does it)."""

    def broadcast_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Make every rank continue from rank 0's optimiser state (after a resume)."""

    def barrier(self) -> None:
        """Wait for every rank."""

    def close(self) -> None:
        """Release the process group."""


class TorchDistributed(Distributed):
    """torch.distributed: NCCL on GPU, gloo on CPU; gradients averaged by DistributedDataParallel."""

    name = "torch"

    def __init__(self, device: torch.device, fp16_allreduce: bool = False) -> None:
        super().__init__(device)
        self.fp16_allreduce = fp16_allreduce
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        self.local_rank = int(os.environ.get("LOCAL_RANK", 0))

    def wrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        # DDP's constructor broadcasts rank 0's parameters (so `broadcast_state` has nothing left to
        # do here); there are no buffers to keep in sync (instance norm keeps no running stats)
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        wrapped = DistributedDataParallel(model, device_ids=device_ids, broadcast_buffers=False,
                                          bucket_cap_mb=bucket_cap_mb(model))
        if self.fp16_allreduce:
            wrapped.register_comm_hook(None, default_hooks.fp16_compress_hook)
        return wrapped

    def accumulating(self, models: Iterable[torch.nn.Module]) -> AbstractContextManager:
        stack = ExitStack()
        for model in models:
            stack.enter_context(model.no_sync())
        return stack

    def average(self, values: dict[str, float]) -> dict[str, float]:
        keys = sorted(values)
        tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        means = {k: float(v) / self.world_size for k, v in zip(keys, tensor.tolist())}
        return {k: means[k] for k in values}

    def vote(self, flag: bool) -> Vote:
        # on the device, through the default group: NCCL takes no CPU tensors, and its order among
        # DDP's allreduces is the same on every rank
        tensor = torch.tensor([int(flag)], dtype=torch.int32, device=self.device)
        work = dist.all_reduce(tensor, op=dist.ReduceOp.MAX, async_op=True)

        def wait() -> bool:
            work.wait()
            return bool(tensor.item())

        return Vote(wait)

    def broadcast_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        for state in optimizer.state.values():
            for value in state.values():
                if torch.is_tensor(value):
                    dist.broadcast(value, src=0)

    def barrier(self) -> None:
        dist.barrier()

    def close(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()


class HorovodDistributed(Distributed):
    """horovod (MPI or gloo): hvd.DistributedOptimizer averages gradients inside `step()`."""

    name = "horovod"

    def __init__(self, device: torch.device, cycle_time_ms: float | None = None, fp16_allreduce: bool = False,
                 fusion_threshold: int | None = None) -> None:
        super().__init__(device)
        import horovod.torch as hvd  # imported here: horovod is only needed by this backend

        self.hvd = hvd
        self.compression = hvd.Compression.fp16 if fp16_allreduce else hvd.Compression.none
        apply_cycle_time(os.environ, cycle_time_ms)
        apply_fusion_threshold(os.environ, fusion_threshold)
        hvd.init()
        self.rank = hvd.rank()
        self.world_size = hvd.size()
        self.local_rank = hvd.local_rank()
        if self.is_main:  # what hvd.init() read, the user's or horovodrun's values included
            log.info("horovod: fusion threshold %s bytes, cycle time %s ms",
                     os.environ.get("HOROVOD_FUSION_THRESHOLD", "horovod's default"),
                     os.environ.get("HOROVOD_CYCLE_TIME", "horovod's default"))

    def wrap_optimizer(self, optimizer: torch.optim.Optimizer, model: torch.nn.Module, prefix: str,
                       backward_passes: int = 1) -> torch.optim.Optimizer:
        # groups=1: all of the optimiser's gradients leave in one grouped allreduce once the last
        # is ready. Per-tensor allreduces (horovod's default) cost one negotiation each; on 2 CPU
        # cores grouping raised 2 processes from 1.49x to 1.62x of one (benchmarks/RESULTS.md),
        # and at scale each avoided allreduce saves a ring latency (docs/scaling.md).
        named = [(f"{prefix}.{name}", p) for name, p in model.named_parameters()]
        return self.hvd.DistributedOptimizer(optimizer, named_parameters=named, op=self.hvd.Average, groups=1,
                                             backward_passes_per_step=backward_passes,
                                             compression=self.compression)

    def broadcast_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        # Only with state: on an empty optimiser horovod first runs a zero-gradient step to create
        # the state, which advances Adam's step count and so changes the first real update.
        if optimizer.state:
            self.hvd.broadcast_optimizer_state(optimizer, root_rank=0)

    def average(self, values: dict[str, float]) -> dict[str, float]:
        keys = sorted(values)
        tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
        averaged = self.hvd.allreduce(tensor, op=self.hvd.Average, name="metrics")
        means = dict(zip(keys, (float(v) for v in averaged.tolist())))
        return {k: means[k] for k in values}

    def vote(self, flag: bool) -> Vote:
        # one vote in flight at a time, so one name serves them all
        handle = self.hvd.allreduce_async(torch.tensor([float(flag)]), op=self.hvd.Sum, name="stop_vote")
        return Vote(lambda: float(self.hvd.synchronize(handle)[0]) > 0)

    def broadcast_state(self, models: Iterable[torch.nn.Module]) -> None:
        for model in models:
            self.hvd.broadcast_parameters(model.state_dict(), root_rank=0)

    def barrier(self) -> None:
        self.hvd.allreduce(torch.zeros(1), name="barrier")

    def close(self) -> None:
        self.hvd.shutdown()


def bucket_cap_mb(model: torch.nn.Module, buckets: int = DDP_BUCKETS_PER_NETWORK) -> float:
    """DDP's bucket size (MiB) that splits `model`'s trainable gradients into `buckets` buckets.

    DDP's default (25 MiB, and 1 MiB for the first bucket) fits no particular model: the demo's
    ngf-16 generator (2-3 MiB) leaves in a 1 MiB bucket and one with the rest, the paper's ngf-64 one
    (43 MiB) in three unequal ones. A bucket closes once it holds at least the cap (whole
    parameters), so this gives at most `buckets` buckets; an explicit cap also sets the first
    bucket's. Sizes are of the parameters' own dtype: fp16_allreduce compresses inside the hook.
    """
    nbytes = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return max(nbytes / buckets, 1) / 2**20


def apply_cycle_time(environ: MutableMapping[str, str], cycle_time_ms: float | None) -> None:
    """Set horovod's fusion cycle (read by `hvd.init()`) unless the user or `horovodrun` set one.

    horovod's background thread wakes every cycle to negotiate which tensors are ready, a round of
    messages between all ranks even when none is. Its default of 1 ms suits GPU nodes with spare
    cores; with one core per training process the polling takes CPU time from training, and a
    longer cycle gives it back (measured in `benchmarks/RESULTS.md`). None: horovod's own default.
    """
    if cycle_time_ms is not None:
        environ.setdefault("HOROVOD_CYCLE_TIME", f"{cycle_time_ms:g}")


def gradient_bytes(models: Iterable[torch.nn.Module], fp16_allreduce: bool = False, alignment: int = 1) -> int:
    """Bytes of `models`' trainable gradients as horovod sends them: in the parameters' dtype, or
    float16 with `fp16_allreduce` (`Compression.fp16` casts before the allreduce); each tensor's
    bytes rounded up to `alignment`. Meta-device models count the same as real ones."""
    total = 0
    for model in models:
        for parameter in model.parameters():
            if parameter.requires_grad:
                size = parameter.numel() * (2 if fp16_allreduce else parameter.element_size())
                total += -(-size // alignment) * alignment
    return total


def fusion_threshold_bytes(groups: Iterable[Iterable[torch.nn.Module]], fp16_allreduce: bool = False) -> int:
    """horovod's fusion threshold that sends each optimiser's group (the networks it steps) in one
    allreduce: the largest group's gradient bytes, padded as horovod fuses them, rounded up to the
    next whole MiB.

    horovod fuses ready tensors into one allreduce only while they fit `HOROVOD_FUSION_THRESHOLD`
    bytes (read at `hvd.init()`), so a larger group leaves in several allreduces, each paying a
    latency that grows with the GPUs (docs/scaling.md); its buffer is also allocated at the full
    threshold on each device. A fixed default fits no particular model: horovod 0.15's 64 MiB split
    the paper's two generators (86.8 MiB) in two; 0.21+'s 128 MiB holds them, but splits the pair
    from ngf 80 (135.6 MiB) and is 32x the demo's 3.8 MiB. The headroom (under 1 MiB) also takes a
    small allreduce that may share the group's cycle (the stop vote).
    """
    largest = max(gradient_bytes(group, fp16_allreduce, HOROVOD_FUSION_ALIGNMENT) for group in groups)
    return (largest // 2**20 + 1) * 2**20


def apply_fusion_threshold(environ: MutableMapping[str, str], nbytes: int | None) -> None:
    """Set horovod's fusion threshold (read by `hvd.init()`) unless the user or `horovodrun
    --fusion-threshold-mb` set one. None: horovod's own default."""
    if nbytes is not None:
        environ.setdefault("HOROVOD_FUSION_THRESHOLD", str(nbytes))


def pick_device(requested: str, local_rank: int) -> torch.device:
    """`auto`: the local rank's GPU when CUDA is available, else the CPU."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda":
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device(requested)


def local_rank_from_env() -> int:
    """The local rank as torchrun (LOCAL_RANK), Open MPI or horovod's gloo runner set it."""
    for key in ("LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "HOROVOD_LOCAL_RANK"):
        if key in os.environ:
            return int(os.environ[key])
    return 0


def init_distributed(backend: str, device: str, horovod_cycle_time_ms: float | None = None,
                     fp16_allreduce: bool = False, horovod_fusion_threshold: int | None = None) -> Distributed:
    """The backend object for this process (device chosen from the local rank; gradients sent as
    float16 when `fp16_allreduce`; horovod's fusion threshold in bytes, `fusion_threshold_bytes`).

    A process started by a runner (torchrun, horovodrun, mpirun) or by `cg2real launch` first
    arms `die_with_parent`: torchrun starts workers in sessions of their own, out of reach of a
    `kill -9` of the job's process group, so without it they would train on as orphans.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend != "none" or LAUNCHER_VARIABLE in os.environ:
        die_with_parent(PARENT_AT_START)
        if not launcher_is_ancestor(os.environ):
            raise SystemExit(f"the launcher ({os.environ[LAUNCHER_VARIABLE]}) is gone; not training")
    torch_device = pick_device(device, local_rank_from_env())
    if backend == "torch":
        return TorchDistributed(torch_device, fp16_allreduce)
    if backend == "horovod":
        return HorovodDistributed(torch_device, horovod_cycle_time_ms, fp16_allreduce, horovod_fusion_threshold)
    return Distributed(torch_device)
