"""Matcher, F1-optimal threshold and COCO mAP@0.50 on hand-made cases whose answers are known."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from cg2real.boxes import Box
from cg2real.detector.evaluate import (
    Detection,
    best_f1_threshold,
    coco_map50,
    detections_by_image,
    evaluate_detections,
    gt_boxes_by_image,
    match_detections,
)


def coco_gt(boxes_by_image: dict[int, list[Box]]) -> dict:
    """A ground truth like `export.coco_ground_truth` writes, with 100 x 100 images."""
    images = [{"id": i, "file_name": f"f{i}.jpg", "width": 100, "height": 100} for i in boxes_by_image]
    annotations = [
        {
            "id": n,
            "image_id": image_id,
            "category_id": 1,
            "bbox": [b.x1, b.y1, b.width, b.height],
            "area": b.area,
            "iscrowd": 0,
        }
        for n, (image_id, b) in enumerate(((i, b) for i, bs in boxes_by_image.items() for b in bs), start=1)
    ]
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}


def results(*entries: tuple[int, Box, float]) -> list[dict]:
    """COCO result entries from (image id, box, score)."""
    return [
        {"image_id": i, "category_id": 1, "bbox": [b.x1, b.y1, b.width, b.height], "score": s} for i, b, s in entries
    ]


A, B, C = Box(0, 0, 10, 20), Box(50, 50, 70, 90), Box(20, 60, 40, 100)
GT = {1: [A, B], 2: [C], 3: []}


def test_perfect_detections_give_map_one_and_no_misses():
    gt = coco_gt(GT)
    found = results((1, A, 0.9), (1, B, 0.8), (2, C, 0.7))
    row = evaluate_detections(gt, found, conf_threshold=0.25)
    assert row["map50"] == pytest.approx(1.0)
    assert (row["tp"], row["fp"], row["fn"]) == (3, 0, 0)
    assert row["precision"] == row["recall"] == row["f1"] == 1.0
    assert row["n_images"] == 3 and row["n_gt_boxes"] == 3


def test_box_shifted_below_iou_half_is_one_false_positive_and_one_miss():
    gt_box, shifted = Box(0, 0, 10, 10), Box(4, 0, 14, 10)  # IoU 60 / 140 = 0.43
    counts = match_detections({1: [gt_box]}, {1: [Detection(shifted, 0.9)]})
    assert (counts.tp, counts.fp, counts.fn) == (0, 1, 1)
    assert coco_map50(coco_gt({1: [gt_box]}), results((1, shifted, 0.9))) == 0.0


@pytest.mark.parametrize("detected", [Box(0, 0, 10, 20), Box(0, 0, 10, 15)])  # IoU 0.5 and 0.67
def test_iou_of_half_or_more_is_a_match(detected):
    gt_box = Box(0, 0, 10, 10)
    counts = match_detections({1: [gt_box]}, {1: [Detection(detected, 0.9)]})
    assert (counts.tp, counts.fp, counts.fn) == (1, 0, 0)
    assert coco_map50(coco_gt({1: [gt_box]}), results((1, detected, 0.9))) == pytest.approx(1.0)


def test_two_detections_on_one_person_are_one_hit_and_one_false_positive():
    counts = match_detections({1: [A]}, {1: [Detection(A, 0.9), Detection(Box(0, 1, 10, 21), 0.8)]})
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 0)


def test_higher_score_matches_first_and_takes_the_box_it_overlaps_most():
    left, right = Box(0, 0, 10, 10), Box(2, 0, 12, 10)
    strong = Detection(Box(0.5, 0, 10.5, 10), 0.9)  # IoU 0.905 with left, 0.739 with right
    weak = Detection(Box(-3, 0, 7, 10), 0.6)  # IoU 0.538 with left only
    # In list order `weak` would take `left` and `strong` `right`: two hits. By score, one.
    counts = match_detections({1: [left, right]}, {1: [weak, strong]})
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 1)


def test_detection_under_confidence_threshold_is_ignored_for_counts_but_not_for_map():
    gt = coco_gt({1: [A, B]})
    found = results((1, A, 0.9), (1, B, 0.1))
    row = evaluate_detections(gt, found, conf_threshold=0.25)
    assert (row["tp"], row["fp"], row["fn"]) == (1, 0, 1)
    assert row["map50"] == pytest.approx(1.0)  # both persons found, ranked above any false positive
    low = evaluate_detections(gt, results((1, A, 0.9), (1, Box(80, 0, 90, 10), 0.1)), conf_threshold=0.25)
    assert (low["tp"], low["fp"], low["fn"]) == (1, 0, 1)


def test_no_detections_at_all():
    row = evaluate_detections(coco_gt(GT), [], conf_threshold=0.25)
    assert row["map50"] == 0.0
    assert (row["tp"], row["fp"], row["fn"]) == (0, 0, 3)
    assert row["precision"] == row["recall"] == row["f1"] == 0.0
    assert row["best_f1_threshold"] is None and row["best_f1"] == 0.0


def test_map_of_an_imperfect_ranking_by_hand():
    # ranks: hit (P 1, R .5), false positive (P .5), hit (P 2/3, R 1); COCO interpolates precision
    # over 101 recall points: 51 of them (R <= .5) at 1, 50 at 2/3.
    gt = coco_gt({1: [A, B]})
    found = results((1, A, 0.9), (1, Box(80, 0, 90, 10), 0.8), (1, B, 0.7))
    assert coco_map50(gt, found) == pytest.approx((51 + 50 * 2 / 3) / 101)


def test_best_f1_threshold_by_hand():
    # 4 persons; by score: hit .9, miss .8, hit .7, hit .6, miss .5, miss .4.
    # F1 = 2 TP / (n_gt + TP + FP): .4, .33, .57, .75, .67, .6 -> best at .6 with P = R = .75.
    gt = {1: [A, B], 2: [C, Box(0, 50, 10, 70)]}
    far = Box(80, 0, 90, 10)
    found = {
        1: [Detection(far, 0.4), Detection(A, 0.9), Detection(far, 0.8), Detection(B, 0.6)],
        2: [Detection(C, 0.7), Detection(far, 0.5)],
    }
    best = best_f1_threshold(gt, found)
    assert best.threshold == pytest.approx(0.6)
    assert (best.counts.tp, best.counts.fp, best.counts.fn) == (3, 1, 1)
    assert best.counts.f1 == pytest.approx(0.75)
    assert match_detections(gt, found, conf_threshold=best.threshold) == best.counts


def test_best_f1_threshold_keeps_tied_scores_together():
    # A threshold of .5 keeps all three .5 detections; counting the hit alone (F1 1.0) is not possible.
    gt = {1: [A, B]}
    far = Box(80, 0, 90, 10)
    found = {1: [Detection(A, 0.9), Detection(B, 0.5), Detection(far, 0.5), Detection(far, 0.5)]}
    best = best_f1_threshold(gt, found)
    assert best.threshold == pytest.approx(0.9)  # F1 2/3 at .9 and at .5: the higher threshold wins
    assert best.counts.f1 == pytest.approx(2 / 3)
    assert (best.counts.tp, best.counts.fp) == (1, 0)


def random_squares(rng: np.random.Generator, most: int) -> list[Box]:
    """Up to `most` 10 x 10 boxes crowded into a small area, so that many pairs overlap."""
    return [Box(x, y, x + 10, y + 10) for x, y in rng.uniform(0, 12, (rng.integers(0, most + 1), 2)).tolist()]


def test_best_f1_threshold_agrees_with_matching_on_random_cases():
    rng = np.random.default_rng(0)
    n_hits = 0
    for _ in range(30):
        gt = {i: random_squares(rng, 3) for i in range(3)}
        found = {i: [Detection(b, float(rng.uniform())) for b in random_squares(rng, 5)] for i in range(3)}
        best = best_f1_threshold(gt, found)
        scores = {d.score for ds in found.values() for d in ds}
        f1s = [match_detections(gt, found, conf_threshold=t).f1 for t in scores]
        assert best.counts.f1 == pytest.approx(max(f1s, default=0.0))
        if best.threshold is not None:
            assert match_detections(gt, found, conf_threshold=best.threshold) == best.counts
        n_hits += best.counts.tp
    assert n_hits > 10  # the cases exercise matching, not only misses


def test_evaluate_detections_is_json_ready_and_complete():
    found = results((1, A, 0.9), (1, Box(80, 0, 90, 10), 0.8), (2, C, 0.3), (3, B, 0.2))
    row = evaluate_detections(coco_gt(GT), found, conf_threshold=0.25)
    assert json.loads(json.dumps(row)) == row
    for key in ("tp", "fp", "fn", "n_images", "n_gt_boxes"):
        assert type(row[key]) is int, key
    for key in ("precision", "recall", "f1", "map50", "conf_threshold", "best_f1_threshold", "best_f1"):
        assert type(row[key]) is float, key
    assert (row["tp"], row["fp"], row["fn"]) == (2, 1, 1)
    assert row["best_f1_threshold"] == pytest.approx(0.3)  # (2, 1, 1) gives F1 2/3, better than (1, 0, 2) at .9


def test_inputs_are_left_unchanged_and_pycocotools_stays_quiet(capsys):
    gt, found = coco_gt(GT), results((1, A, 0.9), (2, C, 0.7))
    before = copy.deepcopy((gt, found))
    coco_map50(gt, found)
    assert (gt, found) == before
    assert capsys.readouterr().out == ""


def test_map_refuses_unknown_images_and_empty_truth():
    with pytest.raises(ValueError, match="not in the ground truth"):
        coco_map50(coco_gt(GT), results((9, A, 0.9)))
    with pytest.raises(ValueError, match="no person box"):
        coco_map50(coco_gt({1: []}), results((1, A, 0.9)))


def test_coco_conversion_groups_by_image():
    assert gt_boxes_by_image(coco_gt(GT)) == GT
    grouped = detections_by_image(results((2, C, 0.5), (1, A, 0.9), (2, B, 0.4)))
    assert grouped == {2: [Detection(C, 0.5), Detection(B, 0.4)], 1: [Detection(A, 0.9)]}
