import numpy as np
import pytest

from cg2real.metrics.fid import feature_statistics, frechet_distance, frechet_distance_of_features, psd_sqrt


def direct_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula, with tr((S1 S2)^(1/2)) from the eigenvalues of the product S1 S2."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eigenvalues = np.linalg.eigvals(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eigenvalues.real.clip(0)).sum())


def test_matches_direct_computation_on_random_features():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 16))
    b = rng.normal(loc=0.3, scale=1.5, size=(300, 16)) @ rng.normal(size=(16, 16)) * 0.3
    assert frechet_distance_of_features(a, b) == pytest.approx(direct_frechet(a, b), rel=1e-6)


def test_identical_sets_give_zero_and_known_gaussians():
    features = np.random.default_rng(1).normal(size=(200, 8))
    assert frechet_distance_of_features(features, features) == pytest.approx(0, abs=1e-8)
    # diagonal Gaussians: |mu1-mu2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2))
    mu1, mu2 = np.zeros(2), np.array([3.0, 4.0])
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(25 + (1 + 9 - 6) + (4 + 1 - 4))
    assert psd_sqrt(s2) == pytest.approx(np.diag([3.0, 1.0]))
    # a known root of sigma1 is used as given: the right one gives the same distance, another does not
    assert frechet_distance(mu1, s1, mu2, s2, root1=psd_sqrt(s1)) == pytest.approx(frechet_distance(mu1, s1, mu2, s2))
    assert frechet_distance(mu1, s1, mu2, s2, root1=np.eye(2)) != pytest.approx(frechet_distance(mu1, s1, mu2, s2))


def test_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2 samples"):
        feature_statistics(np.zeros((1, 4)))
