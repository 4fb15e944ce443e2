"""Table 2's detector columns on hand-made cases whose answers are known (matching and AP of each
method itself: tests/test_scoring.py)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from cg2real.boxes import Box
from cg2real.detector.evaluate import best_f1_threshold, counts_at, evaluate_detections, map50
from cg2real.scoring import AP_METHODS, ImageOutcomes
from tests.test_scoring import coco_gt, random_case, results

A, B, C = Box(0, 0, 10, 20), Box(50, 50, 70, 90), Box(20, 60, 40, 100)
FAR = Box(80, 0, 90, 10)
GT = {1: [A, B], 2: [C], 3: []}


def outcomes(gt: dict[int, list[Box]], *found: tuple[int, Box, float], method: str = "coco_101") -> ImageOutcomes:
    return ImageOutcomes.from_coco(coco_gt(gt), results(*found), method)


@pytest.mark.parametrize("method", AP_METHODS)
def test_perfect_detections_give_map_one_and_no_misses(method):
    row = evaluate_detections(coco_gt(GT), results((1, A, 0.9), (1, B, 0.8), (2, C, 0.7)), 0.25, method)
    assert row["map50"] == pytest.approx(1.0) and row["ap_method"] == method
    assert (row["tp"], row["fp"], row["fn"]) == (3, 0, 0)
    assert row["precision"] == row["recall"] == row["f1"] == 1.0
    assert row["n_images"] == 3 and row["n_gt_boxes"] == 3


@pytest.mark.parametrize("method", AP_METHODS)
def test_box_shifted_below_iou_half_is_one_false_positive_and_one_miss(method):
    gt_box, shifted = Box(0, 0, 10, 10), Box(4, 0, 14, 10)  # IoU 60 / 140 = 0.43
    found = outcomes({1: [gt_box]}, (1, shifted, 0.9), method=method)
    assert counts_at(found, 0.0) == counts_at(found, 0.9)
    assert (counts_at(found, 0.0).tp, counts_at(found, 0.0).fp, counts_at(found, 0.0).fn) == (0, 1, 1)
    assert map50(found) == 0.0


@pytest.mark.parametrize("method", AP_METHODS)
def test_two_detections_on_one_person_are_one_hit_and_one_false_positive(method):
    counts = counts_at(outcomes({1: [A]}, (1, A, 0.9), (1, Box(0, 1, 10, 21), 0.8), method=method), 0.0)
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 0)


def test_higher_score_matches_first_and_takes_the_box_it_overlaps_most():
    left, right = Box(0, 0, 10, 10), Box(2, 0, 12, 10)
    strong = (1, Box(0.5, 0, 10.5, 10), 0.9)  # IoU 0.905 with left, 0.739 with right
    weak = (1, Box(-3, 0, 7, 10), 0.6)  # IoU 0.538 with left only
    # In list order `weak` would take `left` and `strong` `right`: two hits. By score, one.
    counts = counts_at(outcomes({1: [left, right]}, weak, strong), 0.0)
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 1)


def test_an_iou_tie_now_counts_as_cocoeval_does():
    """`first` overlaps both persons equally: the detector's matcher used to give it the first one
    (then `second` found the other: 2 TP), while the report's bootstrap followed COCOeval (the later
    one; `second` finds nothing: 1 TP, 1 FP). Both now use one matching, COCOeval's for coco_101."""
    left, right = Box(0, 0, 10, 10), Box(2, 0, 12, 10)
    found = ((1, Box(1, 0, 11, 10), 0.9), (1, Box(4, 0, 14, 10), 0.8))
    coco = counts_at(outcomes({1: [left, right]}, *found), 0.25)
    darknet = counts_at(outcomes({1: [left, right]}, *found, method="darknet_all_point"), 0.25)
    assert (coco.tp, coco.fp, coco.fn) == (1, 1, 1)
    assert (darknet.tp, darknet.fp, darknet.fn) == (2, 0, 0)


def test_detection_under_confidence_threshold_is_ignored_for_counts_but_not_for_map():
    gt = coco_gt({1: [A, B]})
    row = evaluate_detections(gt, results((1, A, 0.9), (1, B, 0.1)), 0.25, "coco_101")
    assert (row["tp"], row["fp"], row["fn"]) == (1, 0, 1)
    assert row["map50"] == pytest.approx(1.0)  # both persons found, ranked above any false positive
    low = evaluate_detections(gt, results((1, A, 0.9), (1, FAR, 0.1)), 0.25, "coco_101")
    assert (low["tp"], low["fp"], low["fn"]) == (1, 0, 1)


@pytest.mark.parametrize("method", AP_METHODS)
def test_no_detections_at_all(method):
    row = evaluate_detections(coco_gt(GT), [], 0.25, method)
    assert row["map50"] == 0.0
    assert (row["tp"], row["fp"], row["fn"]) == (0, 0, 3)
    assert row["precision"] == row["recall"] == row["f1"] == 0.0
    assert row["best_f1_threshold"] is None and row["best_f1"] == 0.0


def test_best_f1_threshold_by_hand():
    # 4 persons; by score: hit .9, miss .8, hit .7, hit .6, miss .5, miss .4.
    # F1 = 2 TP / (n_gt + TP + FP): .4, .33, .57, .75, .67, .6 -> best at .6 with P = R = .75.
    found = outcomes({1: [A, B], 2: [C, Box(0, 50, 10, 70)]}, (1, FAR, 0.4), (1, A, 0.9), (1, FAR, 0.8),
                     (1, B, 0.6), (2, C, 0.7), (2, FAR, 0.5))
    best = best_f1_threshold(found)
    assert best.threshold == pytest.approx(0.6)
    assert (best.counts.tp, best.counts.fp, best.counts.fn) == (3, 1, 1)
    assert best.counts.f1 == pytest.approx(0.75)
    assert counts_at(found, best.threshold) == best.counts


def test_best_f1_threshold_keeps_tied_scores_together():
    # A threshold of .5 keeps all three .5 detections; counting the hit alone (F1 1.0) is not possible.
    best = best_f1_threshold(outcomes({1: [A, B]}, (1, A, 0.9), (1, B, 0.5), (1, FAR, 0.5), (1, FAR, 0.5)))
    assert best.threshold == pytest.approx(0.9)  # F1 2/3 at .9 and at .5: the higher threshold wins
    assert best.counts.f1 == pytest.approx(2 / 3)
    assert (best.counts.tp, best.counts.fp) == (1, 0)


def _matched_again(gt: dict, detections: list[dict], method: str, threshold: float):
    """The counts from matching only the detections at or above `threshold` (no reuse of a matching)."""
    kept = [d for d in detections if d["score"] >= threshold]
    return counts_at(ImageOutcomes.from_coco(gt, kept, method), 0.0)


@pytest.mark.parametrize("method", AP_METHODS)
def test_counts_and_best_f1_agree_with_matching_again_at_each_threshold(method):
    n_hits = 0
    for seed in range(4):
        gt, detections = random_case(seed, n_images=8)
        found = ImageOutcomes.from_coco(gt, detections, method)
        scores = sorted({d["score"] for d in detections})
        for t in scores[::3]:
            assert counts_at(found, t) == _matched_again(gt, detections, method, t)
        best = best_f1_threshold(found)
        f1s = [_matched_again(gt, detections, method, t).f1 for t in scores]
        assert best.counts.f1 == pytest.approx(max(f1s, default=0.0))
        n_hits += best.counts.tp
    assert n_hits > 10  # the cases exercise matching, not only misses


def test_evaluate_detections_is_json_ready_and_complete():
    found = results((1, A, 0.9), (1, FAR, 0.8), (2, C, 0.3), (3, B, 0.2))
    row = evaluate_detections(coco_gt(GT), found, 0.25, "darknet_all_point")
    assert json.loads(json.dumps(row)) == row
    for key in ("tp", "fp", "fn", "n_images", "n_gt_boxes"):
        assert type(row[key]) is int, key
    for key in ("precision", "recall", "f1", "map50", "conf_threshold", "best_f1_threshold", "best_f1"):
        assert type(row[key]) is float, key
    assert (row["tp"], row["fp"], row["fn"]) == (2, 1, 1)
    assert row["best_f1_threshold"] == pytest.approx(0.3)  # (2, 1, 1) gives F1 2/3, better than (1, 0, 2) at .9
    assert row["ap_method"] == "darknet_all_point"


def test_inputs_are_left_unchanged():
    gt, found = coco_gt(GT), results((1, A, 0.9), (2, C, 0.7))
    before = copy.deepcopy((gt, found))
    evaluate_detections(gt, found, 0.25, "coco_101")
    assert (gt, found) == before


def test_map_refuses_unknown_images_empty_truth_and_unknown_methods():
    with pytest.raises(ValueError, match="not in the ground truth"):
        evaluate_detections(coco_gt(GT), results((9, A, 0.9)), 0.25, "coco_101")
    with pytest.raises(ValueError, match="no person box"):
        evaluate_detections(coco_gt({1: []}), results((1, A, 0.9)), 0.25, "coco_101")
    with pytest.raises(ValueError, match="darknet_all_point"):
        evaluate_detections(coco_gt(GT), [], 0.25, "voc2007")


def test_outcomes_keep_every_detection_in_score_order():
    found = outcomes(GT, (2, C, 0.5), (1, A, 0.9), (2, B, 0.4), (1, FAR, 0.7))
    assert found.det_score.tolist() == [0.9, 0.7, 0.5, 0.4]
    assert found.det_rank.tolist() == [0, 1, 0, 1] and found.det_tp.tolist() == [True, False, True, False]
    assert found.n_persons == 3 and np.array_equal(found.n_gt, [2, 1, 0])


@pytest.mark.parametrize("seed", [0, 1])
def test_a_coco_row_reports_pycocotools_own_number_which_scoring_reproduces(seed, monkeypatch):
    """The row's mAP under coco_101 is COCOeval's (the reference itself, not our reimplementation);
    the bootstrap's `average_precision` must give the same number, or the intervals would sit around
    a different value than the row."""
    gt, found = random_case(seed)
    row = evaluate_detections(gt, found, 0.25, "coco_101")
    ours = map50(ImageOutcomes.from_coco(gt, found, "coco_101"))
    assert row["map50"] == pytest.approx(ours, abs=1e-12)
    import cg2real.detector.evaluate as evaluate

    monkeypatch.setattr(evaluate, "pycocotools_map50", lambda *a: -1.0)
    assert evaluate_detections(gt, found, 0.25, "coco_101")["map50"] == -1.0  # it is pycocotools that answers
    assert evaluate_detections(gt, found, 0.25, "darknet_all_point")["map50"] >= 0
