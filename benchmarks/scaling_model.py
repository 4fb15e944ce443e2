"""Cost model of one data-parallel CycleGAN step, behind the tables of docs/scaling.md.

    python benchmarks/scaling_model.py     # prints the doc's tables (Markdown)

Step time = compute + gradient allreduce, not overlapped (as this project's horovod backend runs
it: one grouped allreduce per model pair after its backward; the torch backend's DDP overlaps its
buckets with the backward: `exposed_s` and the "Overlapped" table model that, and horovod 0.15's
per-cycle fusion the paper ran). Efficiency at N nodes =
step time on 1 node / step time on N nodes, the paper's baseline. A first-order model, to say which
term matters at which scale, not to predict minutes: latencies are NCCL's own model constants, the
V100's compute is calibrated on the paper's 1-node time, the H100's is an assumption.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cg2real.report.scalability import PAPER_POINTS

# A training step on one sample: the generator phase runs G_A and G_B three times each (translate,
# reconstruct, identity), forward and backward (backward ~ 2x forward: input and weight gradients),
# and each D once on a fake with its weights frozen (backward: input gradients only, ~1x); the
# discriminator phase runs each D on a real and a pooled fake, forward and backward.
GENERATOR_PASSES = 6 * 3
DISCRIMINATOR_PASSES = 2 * 2 + 4 * 3

# Paper 000: 200 epochs; an epoch is max(|DeepDrive|, |SYNTHIA|) = max(4822, 3163) samples per
# process at 1 node, and scale 4 keeps every epoch at 4 x 4822 samples over all processes.
PAPER_EPOCHS = 200
PAPER_EPOCH_SAMPLES = 4 * max(4822, 3163)
# hours per GPU count, each from the 4-GPU time and the published speed-up (0.73 h at 512 is rounded)
PAPER_HOURS = {gpus: PAPER_POINTS[0][1] / speed_up for gpus, _, speed_up in PAPER_POINTS}
V100_FP32_PEAK = 15.7e12  # V100 SXM2, FP32 (PyTorch 1.0 trained in FP32)


# Latencies of NCCL's own cost model (NVIDIA/nccl src/graph/tuning.cc, 2.8-era, Simple protocol: the
# one large buffers use), seconds: a call's base, then per hop over NVLink or the network. A ring
# allreduce has 2(n-1) hops, 2(N-1) of them between nodes, and large multi-node rings get NCCL's
# "plateau" factor; a double binary tree (NCCL >= 2.4) climbs and descends log2(N) network levels.
RING_LATENCY = {"base": 8.4e-6, "intra": 3.4e-6, "inter": 9.6e-6, "plateau": 1.9}
TREE_LATENCY = {"base": 0.0, "intra": 28e-6, "inter": 50e-6}


@dataclass(frozen=True)
class System:
    """One cluster generation: GPUs per node, allreduce bandwidths, and achieved compute per GPU.

    node_bandwidth: bytes/s one node sends with all its rails busy (a flat ring over nodes then
    moves 2(n-1)/n of the buffer through every node's rails); intra_bandwidth: the same inside one
    node (NVLink). achieved_flops: per GPU over the whole step, norms and data loading included.
    """

    name: str
    gpus_per_node: int
    node_bandwidth: float
    intra_bandwidth: float
    achieved_flops: float


def step_flops(generator_macs: float, discriminator_macs: float) -> float:
    """FLOPs of one training step on one sample (2 FLOPs per multiply-accumulate)."""
    return 2 * (GENERATOR_PASSES * generator_macs + DISCRIMINATOR_PASSES * discriminator_macs)


def ring_latency_s(ranks: int, nodes: int) -> float:
    """The latency terms of one ring allreduce: 2(n-1) hops, 2(N-1) of them between nodes."""
    hops, inter_hops = 2 * (ranks - 1), 2 * (nodes - 1)
    latency = RING_LATENCY["base"] + (hops - inter_hops) * RING_LATENCY["intra"] + inter_hops * RING_LATENCY["inter"]
    return latency * RING_LATENCY["plateau"] if nodes > 1 else latency


def ring_allreduce_s(ranks: int, nodes: int, nbytes: float, bandwidth: float) -> float:
    """Ring allreduce: 2(n-1)/n x bytes / bandwidth, plus the latency of its hops."""
    if ranks == 1:
        return 0.0
    return 2 * (ranks - 1) / ranks * nbytes / bandwidth + ring_latency_s(ranks, nodes)


def tree_allreduce_s(ranks: int, nodes: int, nbytes: float, bandwidth: float) -> float:
    """Double binary tree: about a ring's bandwidth term for large n, latency logarithmic in nodes."""
    if ranks == 1:
        return 0.0
    per_node = ranks // nodes
    latency = TREE_LATENCY["base"] + 2 * ((per_node - 1) * TREE_LATENCY["intra"]
                                          + math.log2(nodes) * TREE_LATENCY["inter"])
    return 2 * nbytes / bandwidth + latency


ALGORITHMS = {"ring": ring_allreduce_s, "tree": tree_allreduce_s}


def comm_s(system: System, nodes: int, buckets: Sequence[float], algorithm: str = "ring") -> float:
    """Seconds of one step's allreduces, one per bucket of gradient bytes, one after the other."""
    ranks = nodes * system.gpus_per_node
    bandwidth = system.intra_bandwidth if nodes == 1 else system.node_bandwidth
    return sum(ALGORITHMS[algorithm](ranks, nodes, nbytes, bandwidth) for nbytes in buckets)


def exposed_s(calls: Sequence[float], ready: Sequence[float], backward_s: float) -> float:
    """Communication left after a backward of `backward_s`: allreduce i (seconds `calls[i]`) can start
    once its gradients are ready (`ready[i]`, from the backward's start) and the previous one is done,
    one at a time (DDP's and horovod's one communication stream); what ends after the backward shows."""
    end = 0.0
    for duration, start in zip(calls, ready):
        end = max(end, start) + duration
    return max(0.0, end - backward_s)


def overlapped_s(system: System, nodes: int, nbytes: float, ready: Sequence[float], backward_s: float,
                 algorithm: str = "ring") -> float:
    """Exposed seconds of `nbytes` of gradients sent in len(ready) equal allreduces, the i-th leaving at
    ready[i]: DDP's buckets (ready as the backward reaches them) or horovod's per-cycle fusions."""
    share = nbytes / len(ready)
    return exposed_s([comm_s(system, nodes, [share], algorithm)] * len(ready), ready, backward_s)


def last_use_backward_s(system: System, macs: float) -> float:
    """Seconds of the backward passes in which a model pair's gradients become ready. Each network's
    parameter gradient is complete only after the backward of its last use (autograd sums every use
    first): for the generators the last 2 of 6 passes (G_B's reconstruction, then G_A's translation),
    for the discriminators D_B's and D_A's last, taken as 2 passes. A backward costs 2 forwards."""
    return 2 * 2 * (2 * macs) / system.achieved_flops


@dataclass(frozen=True)
class Scenario:
    """How a step is communicated: gradient buckets (bytes), samples per process, algorithm."""

    name: str
    buckets: tuple[float, ...]
    batch: int = 1
    algorithm: str = "ring"


def efficiency(system: System, nodes: int, flops_per_sample: float, scenario: Scenario) -> float:
    """Throughput per GPU at `nodes` over that at 1 node, compute and communication not overlapped."""
    compute = scenario.batch * flops_per_sample / system.achieved_flops
    one_node = compute + comm_s(system, 1, scenario.buckets, scenario.algorithm)
    return one_node / (compute + comm_s(system, nodes, scenario.buckets, scenario.algorithm))


def paper_step_s(gpus: int) -> float:
    """Seconds per training step in paper 000 (one sample per GPU per step), from its hours."""
    steps = PAPER_EPOCHS * PAPER_EPOCH_SAMPLES / gpus
    return PAPER_HOURS[gpus] * 3600 / steps


def network_costs(size: int = 256, ngf: int = 64, ndf: int = 64) -> dict[str, int]:
    """Parameters and convolution MACs of one generator (ResNet-9) and one discriminator (PatchGAN)."""
    from cg2real.compact.cost import count_macs  # torch: only when the model is printed, not for its maths
    from cg2real.cyclegan.networks import define_discriminator, define_generator

    generator, discriminator = define_generator("resnet_9blocks", ngf), define_discriminator("basic", ndf)
    return {
        "generator_params": sum(p.numel() for p in generator.parameters()),
        "discriminator_params": sum(p.numel() for p in discriminator.parameters()),
        "generator_macs": count_macs(generator, size),
        "discriminator_macs": count_macs(discriminator, size),
    }


NODES = (1, 2, 4, 8, 16, 32, 64, 128)
GB = 1e9
# Assumed, not measured (no GPU was at hand): an H100/H200 step at 40 TFLOPS, 5.4x the V100's
# calibrated rate. Its convolutions run in TF32 on tensor cores (PyTorch's default for cuDNN), but
# at batch 1 much of the step is instance norms, padding and activations streaming 64x64x256 maps
# through memory, whose bandwidth grows only 3.7x (H100, 3.35 TB/s) to 5.3x (H200, 4.8 TB/s) over
# the V100's 0.9 TB/s.
H100_ACHIEVED_FLOPS = 40e12


def systems(flops_per_sample: float, buckets: list[float]) -> tuple[System, System]:
    """ABCI 2.0 (4 V100 per node, one EDR rail counted) with compute calibrated so that the model's
    1-node step is the paper's, and ABCI 3.0 (8 H200 per node, 8 NDR200 rails) at the assumed rate."""
    abci2 = System("ABCI 2.0: 4x V100, EDR 100 Gb/s", 4, 12.5 * GB, 50 * GB, 0.0)
    compute = paper_step_s(4) - comm_s(abci2, 1, buckets)
    abci2 = replace(abci2, achieved_flops=flops_per_sample / compute)
    abci3 = System("ABCI 3.0: 8x H200, 8x NDR 200 Gb/s", 8, 8 * 25 * GB, 300 * GB, H100_ACHIEVED_FLOPS)
    return abci2, abci3


def _efficiency_table(system: System, flops_per_sample: float, scenarios: list[Scenario]) -> list[str]:
    header = ["nodes", "GPUs", *(s.name for s in scenarios)]
    lines = [f"### {system.name}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for nodes in NODES:
        cells = [f"{100 * efficiency(system, nodes, flops_per_sample, s):.1f}%" for s in scenarios]
        lines.append("| " + " | ".join([str(nodes), str(nodes * system.gpus_per_node), *cells]) + " |")
    return lines + [""]


def _budget_lines(costs: dict[str, int], flops: float, fused: list[float], abci2: System, abci3: System) -> list[str]:
    lines = [
        f"- GMACs per pass at 256x256: G {costs['generator_macs'] / 1e9:.2f}, D {costs['discriminator_macs'] / 1e9:.3f}; "
        f"TFLOP per sample and step: {flops / 1e12:.3f}",
        f"- gradient MB per step (fp32): G pair {fused[0] / 1e6:.1f}, D pair {fused[1] / 1e6:.1f}",
        f"- V100 calibrated: {abci2.achieved_flops / 1e12:.2f} TFLOPS = {100 * abci2.achieved_flops / V100_FP32_PEAK:.0f}% "
        "of FP32 peak",
    ]
    for system in (abci2, abci3):
        ring, tree = comm_s(system, 128, fused), comm_s(system, 128, fused, "tree")
        latency = len(fused) * ring_latency_s(128 * system.gpus_per_node, 128)
        lines.append(f"- {system.name}: compute {1e3 * flops / system.achieved_flops:.1f} ms per sample; allreduces "
                     f"(G, D) on 1 node {1e3 * comm_s(system, 1, fused):.1f} ms; on 128 nodes ring {1e3 * ring:.1f} ms "
                     f"(latency {1e3 * latency:.1f}), tree {1e3 * tree:.1f} ms")
    return lines + [""]


HOROVOD_015_CYCLE_S = 5e-3  # horovod 0.15's default HOROVOD_CYCLE_TIME (1 ms since 0.21)


def horovod_cycles_s(system: System, nodes: int, macs: float, nbytes: float,
                     cycle_s: float = HOROVOD_015_CYCLE_S) -> float:
    """Exposed seconds of one model pair's gradients as horovod 0.15's DistributedOptimizer sends them:
    each cycle fuses what became ready since the last into one allreduce (gradients ready evenly over
    the backward of the last uses), so a window of w seconds makes ceil(w / cycle) allreduces."""
    window = last_use_backward_s(system, macs)
    return overlapped_s(system, nodes, nbytes, [cycle_s * (i + 1) for i in range(math.ceil(window / cycle_s))], window)


def ddp_s(system: System, nodes: int, macs: float, nbytes: float, buckets: int, algorithm: str = "ring") -> float:
    """Exposed seconds of one model pair's gradients in DDP's buckets (`buckets` per network, 2 networks),
    each sent as soon as the backward has filled it."""
    window, count = last_use_backward_s(system, macs), 2 * buckets
    return overlapped_s(system, nodes, nbytes, [window * (i + 1) / count for i in range(count)], window, algorithm)


def _overlap_lines(costs: dict[str, int], flops: float, fused: list[float], abci2: System, abci3: System) -> list[str]:
    """Overlapped communication: the paper's horovod 0.15 at 128 nodes, and this project's backends on
    8 GPUs per node at 64 nodes (512 GPUs, the paper's count)."""
    g, d = costs["generator_macs"], costs["discriminator_macs"]

    def step(system: System, nodes: int, exposed) -> float:
        return flops / system.achieved_flops + exposed(system, nodes, g, fused[0]) + exposed(system, nodes, d, fused[1])

    rows = []
    for name, exposed in (("horovod 0.15 as the paper ran it (one fused allreduce per 5 ms cycle, overlapped)",
                           horovod_cycles_s),
                          ("DDP, 1 bucket per network (torch backend), ring", lambda *a: ddp_s(*a, buckets=1)),
                          ("DDP, 1 bucket per network, tree", lambda *a: ddp_s(*a, buckets=1, algorithm="tree")),
                          ("DDP, 2 buckets per network, tree", lambda *a: ddp_s(*a, buckets=2, algorithm="tree")),
                          ("one fused allreduce per model pair, not overlapped (horovod backend), ring",
                           lambda system, nodes, macs, nbytes: comm_s(system, nodes, [nbytes]))):
        cells = []
        for system, nodes in ((abci2, 128), (abci3, 64)):
            one, many = step(system, 1, exposed), step(system, nodes, exposed)
            cells.append(f"{1e3 * (many - one):+.1f} ms, {100 * one / many:.1f}%")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    window = last_use_backward_s(abci2, g)
    return ["### Overlapped with the backward", "",
            f"- generators' gradients become ready in the last {1e3 * window:.1f} ms of a V100 step "
            f"({1e3 * last_use_backward_s(abci3, g):.1f} ms on an H200): horovod 0.15 sends them in "
            f"{math.ceil(window / HOROVOD_015_CYCLE_S)} cycles",
            "",
            "| how gradients are sent | ABCI 2.0, 128 nodes (512 V100): added per step, efficiency "
            "| ABCI 3.0, 64 nodes (512 H200) |",
            "| --- | --- | --- |", *rows, ""]


def _paper_lines(flops: float, fused: list[float], abci2: System) -> list[str]:
    """Where paper 000 lost its efficiency at 128 nodes, against the model."""
    lost = paper_step_s(512) - paper_step_s(4)
    modelled = comm_s(abci2, 128, fused) - comm_s(abci2, 1, fused)
    per_call = ring_latency_s(512, 128)
    steps_per_epoch = PAPER_EPOCH_SAMPLES / 512
    unexplained = lost - modelled
    return [
        "### Paper 000 at 128 nodes", "",
        f"- step: {1e3 * paper_step_s(4):.1f} ms on 1 node, {1e3 * paper_step_s(512):.1f} ms on 128 (+{1e3 * lost:.1f} ms)",
        f"- model, fp32, one ring allreduce per model pair: +{1e3 * modelled:.1f} ms, "
        f"{100 * efficiency(abci2, 128, flops, Scenario('', tuple(fused))):.1f}% predicted (published: 73.3%)",
        f"- not explained: {1e3 * unexplained:.1f} ms per step = the latency of {unexplained / per_call:.1f} more ring "
        f"allreduces ({1e3 * per_call:.2f} ms each), or {unexplained * steps_per_epoch:.2f} s per epoch "
        f"({steps_per_epoch:.1f} steps per epoch per process)",
    ]


def report() -> str:
    """The doc's numbers: per-step budget, efficiency tables for both systems, the paper's loss."""
    costs = network_costs()
    flops = step_flops(costs["generator_macs"], costs["discriminator_macs"])
    fused = [4.0 * 2 * costs["generator_params"], 4.0 * 2 * costs["discriminator_params"]]
    fp16 = tuple(b / 2 for b in fused)
    horovod = (64 * 2**20, fused[0] - 64 * 2**20, fused[1])  # horovod 0.15's 64 MiB fusion buffer, at best
    abci2, abci3 = systems(flops, fused)
    return "\n".join(
        _budget_lines(costs, flops, fused, abci2, abci3)
        + _efficiency_table(abci2, flops, [
            Scenario("fp32, one allreduce per model pair", tuple(fused)),
            Scenario("fp32, horovod 0.15 buffers (3)", horovod),
            Scenario("fp16 gradients", fp16),
            Scenario("fp32, batch 4 per GPU", tuple(fused), batch=4),
            Scenario("fp32, tree", tuple(fused), algorithm="tree"),
        ])
        + _efficiency_table(abci3, flops, [
            Scenario("fp32, ring", tuple(fused)),
            Scenario("fp32, tree", tuple(fused), algorithm="tree"),
            Scenario("fp16, tree", fp16, algorithm="tree"),
            Scenario("fp32, ring, batch 4 per GPU", tuple(fused), batch=4),
        ])
        + _overlap_lines(costs, flops, fused, abci2, abci3)
        + _paper_lines(flops, fused, abci2)
    )


if __name__ == "__main__":
    print(report())
