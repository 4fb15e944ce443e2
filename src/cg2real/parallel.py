"""A process-pool map with a progress bar, for the per-frame steps of the data stage."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(fn: Callable[[T], R], items: Sequence[T], workers: int, desc: str) -> list[R]:
    """`[fn(x) for x in items]`, in order, on `workers` processes (in-process when workers <= 1).

    `fn` must be a module-level function (or a functools.partial of one) so that it pickles.
    """
    if workers <= 1 or len(items) < 2:
        return [fn(item) for item in tqdm(items, desc=desc, unit="img", mininterval=2)]
    chunksize = max(1, len(items) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results: Iterable[R] = pool.map(fn, items, chunksize=chunksize)
        return list(tqdm(results, total=len(items), desc=desc, unit="img", mininterval=2))
