"""Smoke test of the horovod install (tools/build_horovod.sh): two gloo ranks take one
data-parallel SGD step and must end with the same parameters as one process averaging both
ranks' gradients."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

LR = 0.1

WORKER = textwrap.dedent(
    """
    import sys
    import torch
    import horovod.torch as hvd

    hvd.init()
    rank = hvd.rank()
    torch.manual_seed(100 + rank)  # different per rank: only the broadcast makes them equal
    model = torch.nn.Linear(3, 2)
    hvd.broadcast_parameters(model.state_dict(), root_rank=0)
    initial = {k: v.clone() for k, v in model.state_dict().items()}

    optimizer = hvd.DistributedOptimizer(
        torch.optim.SGD(model.parameters(), lr=float(sys.argv[2])),
        named_parameters=model.named_parameters(),
    )
    x = torch.arange(12, dtype=torch.float32).reshape(4, 3) / 10 + rank  # rank-dependent batch
    target = torch.full((4, 2), float(rank))
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(model(x), target).backward()
    optimizer.step()

    torch.save(
        {"size": hvd.size(), "x": x, "target": target, "initial": initial,
         "final": {k: v.detach().clone() for k, v in model.state_dict().items()}},
        f"{sys.argv[1]}/rank{rank}.pt",
    )
    """
)


def test_two_gloo_ranks_average_gradients(tmp_path: Path) -> None:
    """horovod is built by `make horovod`, which `make test` runs (tools/build_horovod.sh): an
    ImportError is a broken build and fails here, never skips."""
    import horovod.torch  # noqa: F401
    import torch

    horovodrun = Path(sys.executable).with_name("horovodrun")
    assert horovodrun.exists(), f"horovod is importable but {horovodrun} is missing"
    script = tmp_path / "worker.py"
    script.write_text(WORKER)

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [str(horovodrun), "-np", "2", "--gloo", "-H", "localhost:2",
               sys.executable, str(script), str(tmp_path), str(LR)]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, f"horovodrun failed:\n{run.stdout}\n{run.stderr}"

    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    assert [r["size"] for r in ranks] == [2, 2]
    initial = ranks[0]["initial"]
    for name in initial:  # the broadcast made rank 1 start from rank 0's parameters
        assert torch.equal(ranks[1]["initial"][name], initial[name]), name

    # Reference: one process, same start, gradients of both ranks' batches averaged, one SGD step.
    model = torch.nn.Linear(3, 2)
    model.load_state_dict(initial)
    grads = []
    for r in ranks:
        model.zero_grad()
        torch.nn.functional.mse_loss(model(r["x"]), r["target"]).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    expected = {n: initial[n] - LR * (grads[0][n] + grads[1][n]) / 2 for n in initial}

    for name in initial:
        final0, final1 = ranks[0]["final"][name], ranks[1]["final"][name]
        assert torch.equal(final0, final1), f"{name}: ranks disagree after the step"
        assert not torch.allclose(final0, initial[name]), f"{name}: the step changed nothing"
        torch.testing.assert_close(final0, expected[name], rtol=1e-5, atol=1e-6)
