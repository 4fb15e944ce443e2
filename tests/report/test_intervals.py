"""Interval code against known distributions, and the bootstrap's resampled AP against the references."""

from __future__ import annotations

import numpy as np
import pytest

from cg2real.report.intervals import bootstrap_counts, bootstrap_map50, percentile_interval, t_interval, t_quantile
from cg2real.scoring import ImageOutcomes, average_precision
from tests.test_scoring import pycocotools_ap50, random_case, voc_ap50


@pytest.mark.parametrize(("dof", "expected"), [(1, 12.7062), (2, 4.3027), (4, 2.7764), (30, 2.0423), (1000, 1.9623)])
def test_t_quantile_matches_the_tables(dof, expected):
    assert t_quantile(0.975, dof) == pytest.approx(expected, abs=2e-4)


def test_t_interval_covers_the_mean_at_its_rate():
    rng = np.random.default_rng(0)
    covered = [(e.low <= 5.0 <= e.high) for e in (t_interval(rng.normal(5.0, 2.0, 3)) for _ in range(4000))]
    assert np.mean(covered) == pytest.approx(0.95, abs=0.012)  # k = 3: the t (not normal) quantile is needed


def test_one_replicate_has_no_interval():
    estimate = t_interval([0.42])
    assert estimate.mean == 0.42 and estimate.low is None and estimate.excludes_zero is None


@pytest.mark.parametrize(("method", "reference"),
                         [("coco_101", pycocotools_ap50), ("darknet_all_point", voc_ap50)])
def test_a_resample_is_the_reference_on_the_resampled_images(method, reference):
    gt, detections = random_case(7, n_images=12)
    outcomes = ImageOutcomes.from_coco(gt, detections, method)
    counts = np.zeros(12, int)
    counts[[0, 3, 4, 9]] = 1  # a 0/1 resample: the reference on the kept images
    kept = {outcomes.image_ids[i] for i in np.flatnonzero(counts)}
    sub_gt = {**gt, "images": [i for i in gt["images"] if i["id"] in kept],
              "annotations": [a for a in gt["annotations"] if a["image_id"] in kept]}
    sub_dt = [d for d in detections if d["image_id"] in kept]
    assert bootstrap_map50([outcomes], counts[None])[0] == pytest.approx(reference(sub_gt, sub_dt), abs=1e-12)
    assert average_precision(outcomes, np.ones((1, 12)))[0] == pytest.approx(reference(gt, detections), abs=1e-12)


def test_bootstrap_of_a_perfect_detector_is_one_and_of_a_known_mix_brackets_it():
    gt, _ = random_case(3, n_images=40)
    perfect = [{"image_id": a["image_id"], "category_id": 1, "score": 0.9, "bbox": a["bbox"]} for a in gt["annotations"]]
    counts = bootstrap_counts(40, resamples=200, seed=1)
    samples = bootstrap_map50([ImageOutcomes.from_coco(gt, perfect, "coco_101")], counts)
    assert np.allclose(samples, 1.0)
    # a detector finding every box of half of the images: AP is the found fraction of persons, resampled
    half = [d for d in perfect if d["image_id"] % 2 == 0]
    outcomes = ImageOutcomes.from_coco(gt, half, "coco_101")
    point = average_precision(outcomes)
    found = sum(1 for a in gt["annotations"] if a["image_id"] % 2 == 0) / len(gt["annotations"])
    assert point == pytest.approx(np.floor(found * 100 + 1) / 101, abs=0.011)
    estimate = percentile_interval(bootstrap_map50([outcomes], bootstrap_counts(40, 1000, 2)), point)
    assert estimate.low < point < estimate.high and estimate.excludes_zero


def test_bootstrap_counts_draw_every_image_with_replacement():
    counts = bootstrap_counts(50, resamples=300, seed=0)
    assert counts.shape == (300, 50) and (counts.sum(axis=1) == 50).all()
    assert counts.mean() == pytest.approx(1.0) and (counts == 0).mean() == pytest.approx((49 / 50) ** 50, abs=0.02)
