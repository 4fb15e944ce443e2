"""The step cost model of docs/scaling.md (benchmarks/scaling_model.py) on hand-computed values."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

# benchmarks/ is a folder of scripts, not a package: load the script from its file
_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "scaling_model.py"
_SPEC = importlib.util.spec_from_file_location("benchmarks_scaling_model", _PATH)
scaling_model = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = scaling_model  # dataclasses look their module up while the script runs
_SPEC.loader.exec_module(scaling_model)

Scenario = scaling_model.Scenario
System = scaling_model.System
efficiency = scaling_model.efficiency
paper_step_s = scaling_model.paper_step_s
ring_allreduce_s = scaling_model.ring_allreduce_s
step_flops = scaling_model.step_flops
tree_allreduce_s = scaling_model.tree_allreduce_s

US = 1e-6


def test_ring_allreduce_moves_2_n_minus_1_over_n_of_the_buffer_plus_hop_latencies():
    assert ring_allreduce_s(1, 1, 1e9, 1e9) == 0.0
    # one node of 4: 6 NVLink hops of 3.4 us after an 8.4 us base
    assert ring_allreduce_s(4, 1, 1e9, 1e9) == pytest.approx(1.5 + (8.4 + 6 * 3.4) * US)
    # two nodes of 4: 14 hops, 2 of them over the network (9.6 us), x1.9 for a multi-node ring
    assert ring_allreduce_s(8, 2, 1e9, 1e9) == pytest.approx(1.75 + (8.4 + 12 * 3.4 + 2 * 9.6) * 1.9 * US)


def test_tree_latency_grows_with_log_nodes_not_ranks():
    assert tree_allreduce_s(8, 2, 1e9, 1e9) == pytest.approx(2.0 + 2 * (3 * 28 + 1 * 50) * US)
    assert tree_allreduce_s(512, 128, 0.0, 1e9) == pytest.approx(2 * (3 * 28 + 7 * 50) * US)


def test_efficiency_is_one_node_step_over_n_node_step_and_rises_with_batch():
    system = System("toy", gpus_per_node=4, node_bandwidth=1e9, intra_bandwidth=1e12, achieved_flops=1e12)
    one_node = 0.1 + ring_allreduce_s(4, 1, 1e8, 1e12)  # 0.1 s of compute for 1e11 FLOPs
    two_nodes = 0.1 + 0.175 + (8.4 + 12 * 3.4 + 2 * 9.6) * 1.9 * US
    assert efficiency(system, 2, 1e11, Scenario("a", (1e8,))) == pytest.approx(one_node / two_nodes)
    four = (0.4 + ring_allreduce_s(4, 1, 1e8, 1e12)) / (0.4 + two_nodes - 0.1)
    assert efficiency(system, 2, 1e11, Scenario("b", (1e8,), batch=4)) == pytest.approx(four)
    assert efficiency(system, 1, 1e11, Scenario("c", (1e8,))) == 1.0


def test_step_counts_18_generator_and_16_discriminator_passes():
    assert step_flops(1, 0) == 36 and step_flops(0, 1) == 32


def test_paper_steps_give_its_efficiency():
    assert paper_step_s(4) == pytest.approx(68.77 * 3600 / (200 * 4822))
    assert paper_step_s(4) / paper_step_s(512) == pytest.approx(93.8 / 128)


def test_exposed_communication_is_what_runs_past_the_backward_one_call_at_a_time():
    exposed_s = scaling_model.exposed_s
    assert exposed_s([1.0, 1.0], [0.5, 1.0], backward_s=4.0) == 0.0  # both hidden
    assert exposed_s([1.0, 1.0], [0.5, 1.0], backward_s=2.0) == pytest.approx(0.5)  # second waits for the first
    assert exposed_s([1.0], [3.0], backward_s=3.0) == pytest.approx(1.0)  # ready at the end: all shows


def test_horovod_fuses_once_per_cycle_while_gradients_become_ready():
    system = System("toy", gpus_per_node=4, node_bandwidth=1e9, intra_bandwidth=1e12, achieved_flops=1e12)
    window = scaling_model.last_use_backward_s(system, 5e9)  # 2 passes x 2 forwards x 10 GFLOP = 40 ms
    assert window == pytest.approx(0.04)
    # 8 cycles of 5 ms: 8 allreduces of 1/8 of the bytes, the first leaving after one cycle
    call = ring_allreduce_s(8, 2, 1e8 / 8, 1e9)
    assert call > 0.005  # each outlasts a cycle, so they queue: the last ends at 5 ms + 8 calls
    assert scaling_model.horovod_cycles_s(system, 2, 5e9, 1e8) == pytest.approx(0.005 + 8 * call - 0.04)
    # DDP, 1 bucket per network: the first network's bucket leaves half-way, the second's at the end
    half = ring_allreduce_s(8, 2, 1e8 / 2, 1e9)  # 87.5 ms: the second waits for the first
    assert scaling_model.ddp_s(system, 2, 5e9, 1e8, buckets=1) == pytest.approx(0.02 + 2 * half - 0.04)
