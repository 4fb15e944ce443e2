"""Intervals for Table 2 (numpy only): over replicates (Student t) and over validation images (bootstrap).

- `t_interval`: mean of k replicate values with its 95% t-interval (k = 1: no interval, None).
- `bootstrap_map50`: mAP@0.5 of resampled validation images, by the same matching and AP method as
  the rows (`cg2real.scoring`: one checkpoint's cached detections are matched once, and a resample,
  image i drawn w_i times, costs a cumulative sum, not an inference). With all weights 1 it is the
  row's number (tests/report/test_intervals.py).
- `bootstrap_counts`, `percentile_interval`: the percentile bootstrap over images; the same counts
  used for two rows give their paired difference.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cg2real.scoring import ImageOutcomes, average_precision

CONFIDENCE = 0.95
RESAMPLES = 1000
BOOTSTRAP_SEED = 0


def _t_cdf(x: float, dof: int) -> float:
    """Student t CDF for x >= 0 (numerical integration of the density; exact to ~1e-9)."""
    log_c = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)
    grid = np.linspace(0.0, x, 20001)
    density = np.exp(log_c - (dof + 1) / 2 * np.log1p(grid**2 / dof))
    return 0.5 + float(np.sum((density[1:] + density[:-1]) / 2 * np.diff(grid)))


@functools.lru_cache(maxsize=256)
def t_quantile(p: float, dof: int) -> float:
    """The p quantile (p > 0.5) of Student's t with `dof` degrees of freedom, by bisection."""
    low, high = 0.0, 1.0
    while _t_cdf(high, dof) < p:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if _t_cdf(mid, dof) < p else (low, mid)
    return (low + high) / 2


@dataclass(frozen=True)
class Estimate:
    """A mean with its interval (low, high); None when there is none (one replicate)."""

    mean: float
    low: float | None = None
    high: float | None = None

    @property
    def excludes_zero(self) -> bool | None:
        return None if self.low is None else bool(self.low > 0 or self.high < 0)

    def as_json(self) -> dict:
        return {"mean": self.mean, "low": self.low, "high": self.high}


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean of the replicate values and its t-interval (None for k = 1: no spread to measure)."""
    values = np.asarray(values, float)
    mean = float(values.mean())
    if len(values) < 2:
        return Estimate(mean)
    half = t_quantile(0.5 + confidence / 2, len(values) - 1) * float(values.std(ddof=1)) / math.sqrt(len(values))
    return Estimate(mean, mean - half, mean + half)


def percentile_interval(samples: np.ndarray, point: float, confidence: float = CONFIDENCE) -> Estimate:
    """`point` with the percentile interval of its bootstrap `samples` (resamples without a value skipped)."""
    samples = np.asarray(samples, float)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return Estimate(point)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Estimate(point, float(low), float(high))


def bootstrap_counts(n_images: int, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """How often each image is drawn in each resample (resamples x n_images), with replacement."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_images, np.full(n_images, 1 / n_images), size=resamples)


def bootstrap_map50(replicates: Sequence[ImageOutcomes], counts: np.ndarray) -> np.ndarray:
    """AP@0.5 averaged over the replicates, per resample (the same resampled images for every replicate)."""
    return np.mean([average_precision(outcomes, counts) for outcomes in replicates], axis=0)
