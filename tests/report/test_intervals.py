"""Interval code against known distributions, and the exact AP against pycocotools."""

from __future__ import annotations

import numpy as np
import pytest

from cg2real.detector.evaluate import coco_map50
from cg2real.report.intervals import (
    ImageOutcomes, average_precision, bootstrap_counts, bootstrap_map50, percentile_interval, t_interval, t_quantile,
)


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


def random_case(seed: int, n_images: int = 30):
    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "width": 100, "height": 100} for i in range(n_images)]
    annotations, detections = [], []
    for image in images:
        for _ in range(rng.integers(0, 4)):
            x, y, w, h = rng.uniform(0, 60, 2).tolist() + rng.uniform(5, 40, 2).tolist()
            annotations.append({"id": len(annotations) + 1, "image_id": image["id"], "category_id": 1,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
            if rng.random() < 0.7:  # a detection near the box
                jitter = rng.normal(0, 4, 4)
                detections.append({"image_id": image["id"], "category_id": 1, "score": float(rng.random()),
                                   "bbox": [x + jitter[0], y + jitter[1], w + abs(jitter[2]), h + abs(jitter[3])]})
        for _ in range(rng.integers(0, 3)):  # false positives
            detections.append({"image_id": image["id"], "category_id": 1, "score": float(rng.random()),
                               "bbox": rng.uniform(0, 60, 2).tolist() + rng.uniform(5, 40, 2).tolist()})
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}, detections


@pytest.mark.parametrize("seed", range(5))
def test_exact_ap_is_pycocotools_ap(seed):
    pytest.importorskip("pycocotools")
    gt, detections = random_case(seed)
    assert average_precision(ImageOutcomes.from_coco(gt, detections)) == pytest.approx(coco_map50(gt, detections))


def test_a_resample_is_pycocotools_on_the_resampled_images():
    pytest.importorskip("pycocotools")
    gt, detections = random_case(7, n_images=12)
    outcomes = ImageOutcomes.from_coco(gt, detections)
    counts = np.zeros(12, int)
    counts[[0, 3, 4, 9]] = 1  # a 0/1 resample: pycocotools on the kept images
    kept = {outcomes.image_ids[i] for i in np.flatnonzero(counts)}
    sub_gt = {**gt, "images": [i for i in gt["images"] if i["id"] in kept],
              "annotations": [a for a in gt["annotations"] if a["image_id"] in kept]}
    sub_dt = [d for d in detections if d["image_id"] in kept]
    assert average_precision(outcomes, counts[None])[0] == pytest.approx(coco_map50(sub_gt, sub_dt))


def test_bootstrap_of_a_perfect_detector_is_one_and_of_a_known_mix_brackets_it():
    gt, _ = random_case(3, n_images=40)
    perfect = [{"image_id": a["image_id"], "category_id": 1, "score": 0.9, "bbox": a["bbox"]} for a in gt["annotations"]]
    counts = bootstrap_counts(40, resamples=200, seed=1)
    samples = bootstrap_map50([ImageOutcomes.from_coco(gt, perfect)], counts)
    assert np.allclose(samples, 1.0)
    # a detector finding every box of half of the images: AP is the found fraction of persons, resampled
    half = [d for d in perfect if d["image_id"] % 2 == 0]
    outcomes = ImageOutcomes.from_coco(gt, half)
    point = average_precision(outcomes)
    found = sum(1 for a in gt["annotations"] if a["image_id"] % 2 == 0) / len(gt["annotations"])
    assert point == pytest.approx(np.floor(found * 100 + 1) / 101, abs=0.011)
    estimate = percentile_interval(bootstrap_map50([outcomes], bootstrap_counts(40, 1000, 2)), point)
    assert estimate.low < point < estimate.high and estimate.excludes_zero


def test_bootstrap_counts_draw_every_image_with_replacement():
    counts = bootstrap_counts(50, resamples=300, seed=0)
    assert counts.shape == (300, 50) and (counts.sum(axis=1) == 50).all()
    assert counts.mean() == pytest.approx(1.0) and (counts == 0).mean() == pytest.approx((49 / 50) ** 50, abs=0.02)
