"""The GPU check (benchmarks/gpu_check.py) runs end to end on the CPU at tiny sizes, so that it is
ready to run the day a GPU is lent: every row present, every number positive and finite, the
bf16 + channels_last + compile step close to fp32 eager, and nothing leaving the machine.

The script runs in a fresh process (as on the GPU machine): it refuses network access for the
rest of its process and ultralytics changes global torch settings, neither of which may reach
this test process.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPT = BENCHMARKS / "gpu_check.py"
ROWS = [
    ("CycleGAN step", "fp32 eager"),
    ("CycleGAN step", "bf16 + channels_last + compile (eager)"),
    ("translation", "full ResNet-9 ngf 64"),
    ("translation", "compact"),
    ("FID", "real statistics cached"),
    ("detector", "amp True"),
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("gpu_check") / "results.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--quick", "--compile-backend", "eager", "--threads", "1",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, cwd=BENCHMARKS.parent,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    return json.loads(out.read_text()), done.stdout


def test_every_row_is_there_with_positive_finite_numbers(quick_run):
    result, _ = quick_run
    rows = result["rows"]
    assert len(rows) == len(ROWS)
    for row, (check, setting) in zip(rows, ROWS):
        assert row["check"] == check and setting in row["setting"], row
        assert math.isfinite(row["value"]) and row["value"] > 0, row
        assert row["peak_mib"] is None, row  # no CUDA memory on the CPU
        assert all(math.isfinite(value) for value in row["figures"].values()), row
    assert rows[0]["versus"] == rows[2]["versus"] == "1.00x"
    assert rows[5]["figures"]["epochs"] >= 1 and rows[5]["figures"]["train_frames"] > 0


def test_the_fast_step_keeps_the_losses_of_fp32_eager(quick_run):
    result, _ = quick_run
    fast = result["rows"][1]["figures"]
    # same weights, same batch: bf16 autocast moves the first step's losses by ~1e-2, a wrong path by far more
    assert 0 < fast["loss_gap"] < 0.1
    assert fast["warmup_s"] > 0


def test_the_table_is_printed_and_nothing_left_the_machine(quick_run):
    result, stdout = quick_run
    assert result["network_attempts"] == []
    table = stdout[stdout.index("| check | setting |"):].splitlines()
    assert len([line for line in table if line.startswith("| ")]) == 2 + len(ROWS)
    assert "network: 0 attempt(s)" in stdout
    assert "Inception weights" in result["rows"][4]["note"]  # the file's path, or RANDOM and where it was looked for


def test_network_guard_refuses_the_outside_and_keeps_loopback():
    probe = textwrap.dedent(
        f"""
        import json, socket, sys
        sys.path.insert(0, {str(BENCHMARKS)!r})
        import gpu_check

        attempts, refused = [], []
        gpu_check.refuse_network(attempts)
        for call in (lambda: socket.socket().connect(("192.0.2.1", 9)),
                     lambda: socket.getaddrinfo("example.invalid", 443)):
            try:
                call()
            except OSError as err:
                refused.append("refused by the GPU check" in str(err))
        server = socket.create_server(("127.0.0.1", 0))
        socket.create_connection(server.getsockname(), timeout=5).close()  # loopback stays open
        print(json.dumps({{"attempts": attempts, "refused": refused}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["refused"] == [True, True]
    assert [attempt.split()[0] for attempt in found["attempts"]] == ["connect", "lookup"]
