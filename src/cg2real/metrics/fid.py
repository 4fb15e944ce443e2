"""The Frechet distance between two sets of features (the FID when they are Inception features).

FID = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)). The trace of the matrix square root is taken
in its symmetric form, tr((S1^(1/2) S2 S1^(1/2))^(1/2)), whose eigenvalues are real and
non-negative, so plain numpy eigen-decompositions suffice (no scipy.linalg.sqrtm and no complex
round-off to discard).
"""

from __future__ import annotations

import numpy as np


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (rows are samples) of a feature matrix."""
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError("need a (samples, dims) matrix with at least 2 samples")
    features = features.astype(np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The square root of a covariance matrix; the costly part of a FID (2048 x 2048 for Inception)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     root1: np.ndarray | None = None) -> float:
    """The distance; `root1`, `psd_sqrt(sigma1)` if already known, saves its cost when one reference
    set is measured against many (the real crops against every generator's translations)."""
    root1 = psd_sqrt(sigma1) if root1 is None else root1
    middle = root1 @ sigma2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def frechet_distance_of_features(first: np.ndarray, second: np.ndarray) -> float:
    return frechet_distance(*feature_statistics(first), *feature_statistics(second))
