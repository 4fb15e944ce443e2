"""The trainer's data loader: built once per run, its worker processes kept across epochs."""

from __future__ import annotations

from dataclasses import replace

from cg2real.cyclegan.train import CycleGANTrainer
from tests.cyclegan.test_train import CPU, TINY, crops  # noqa: F401 (crops: a fixture)


def test_one_loader_and_the_same_workers_serve_every_epoch(tmp_path, crops):  # noqa: F811
    trainer = CycleGANTrainer(replace(TINY, num_workers=1), CPU, *crops, tmp_path / "run")
    loader = trainer._loader(0)
    first = [tuple(batch) for batch in loader]  # an epoch's batches, as train_epoch draws them
    iterator = loader._iterator
    workers = [worker.pid for worker in iterator._workers]
    second = [tuple(batch) for batch in trainer._loader(1)]
    try:
        assert len(first) == len(second) == 4  # max(4, 3) crops per epoch, batch 1
        assert trainer._loader(2) is loader and loader._iterator is iterator  # no rebuild at an epoch boundary
        assert [worker.pid for worker in iterator._workers] == workers
        assert all(worker.is_alive() for worker in iterator._workers)
    finally:
        iterator._shutdown_workers()
