"""Matching and AP of both methods: hand-computed cases, and agreement with each reference implementation.

References: pycocotools (coco_101, to float precision), a VOC-devkit-style computation written
here loop by loop (darknet_all_point, to float precision), and ultralytics' own `match_predictions`
and `ap_per_class` (its matching equals coco_101's on untied IoUs; its AP differs by interpolation).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cg2real.boxes import Box, iou_matrix
from cg2real.scoring import AP_METHODS, ImageOutcomes, average_precision, match_ranked


def coco_gt(boxes_by_image: dict[int, list[Box]]) -> dict:
    """A ground truth like `export.coco_ground_truth` writes, with 100 x 100 images."""
    images = [{"id": i, "file_name": f"f{i}.jpg", "width": 100, "height": 100} for i in boxes_by_image]
    annotations = [
        {"id": n, "image_id": image_id, "category_id": 1, "bbox": [b.x1, b.y1, b.width, b.height], "area": b.area,
         "iscrowd": 0}
        for n, (image_id, b) in enumerate(((i, b) for i, bs in boxes_by_image.items() for b in bs), start=1)
    ]
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}


def results(*entries: tuple[int, Box, float]) -> list[dict]:
    """COCO result entries from (image id, box, score)."""
    return [{"image_id": i, "category_id": 1, "bbox": [b.x1, b.y1, b.width, b.height], "score": s}
            for i, b, s in entries]


def random_case(seed: int, n_images: int = 30):
    """Persons, detections near most of them (some twice: duplicates) and false positives."""
    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "width": 100, "height": 100} for i in range(n_images)]
    annotations, detections = [], []
    for image in images:
        for _ in range(rng.integers(0, 4)):
            x, y, w, h = rng.uniform(0, 60, 2).tolist() + rng.uniform(5, 40, 2).tolist()
            annotations.append({"id": len(annotations) + 1, "image_id": image["id"], "category_id": 1,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
            for _ in range(int(rng.random() < 0.7) + int(rng.random() < 0.2)):  # near the box, maybe twice
                jitter = rng.normal(0, 4, 4)
                detections.append({"image_id": image["id"], "category_id": 1, "score": float(rng.random()),
                                   "bbox": [x + jitter[0], y + jitter[1], w + abs(jitter[2]), h + abs(jitter[3])]})
        for _ in range(rng.integers(0, 3)):  # false positives
            detections.append({"image_id": image["id"], "category_id": 1, "score": float(rng.random()),
                               "bbox": rng.uniform(0, 60, 2).tolist() + rng.uniform(5, 40, 2).tolist()})
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}, detections


def pycocotools_ap50(gt: dict, detections: list[dict]) -> float:
    """The reference: COCOeval for category 1 at IoU 0.5, all areas, 100 detections per image."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = json.loads(json.dumps(gt))
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(json.loads(json.dumps(detections))), iouType="bbox")
        evaluator.params.catIds, evaluator.params.iouThrs = [1], np.array([0.5])
        evaluator.params.maxDets, evaluator.params.areaRng, evaluator.params.areaRngLbl = [100], [[0, 1e10]], ["all"]
        evaluator.evaluate()
        evaluator.accumulate()
    return float(evaluator.eval["precision"][0, :, 0, 0, 0].mean())


def ap(gt: dict, detections: list[dict], method: str) -> float:
    return average_precision(ImageOutcomes.from_coco(gt, detections, method))


A, B = Box(0, 0, 10, 20), Box(50, 50, 70, 90)
FAR = Box(80, 0, 90, 10)
PERSONS = [A, B, Box(20, 60, 40, 100), Box(0, 50, 10, 70)]


def test_two_hits_around_a_false_positive_by_hand():
    """Ranks: hit (P 1, R .5), false positive (P .5), hit (P 2/3, R 1).
    coco_101: 51 recall points (0 ... .5) at 1, 50 (.51 ... 1) at 2/3.
    darknet_all_point: recall .5 at precision 1, then .5 more at the envelope 2/3: 5/6."""
    gt = coco_gt({1: [A, B]})
    found = results((1, A, 0.9), (1, FAR, 0.8), (1, B, 0.7))
    assert ap(gt, found, "coco_101") == pytest.approx((51 + 50 * 2 / 3) / 101)
    assert ap(gt, found, "darknet_all_point") == pytest.approx(5 / 6)


def test_a_curve_that_never_reaches_full_recall_by_hand():
    """4 persons; ranks: hit, miss, hit, miss, miss, hit. P = 1, .5, 2/3, .5, .4, .5 at R = .25, .25,
    .5, .5, .5, .75; the envelope (best P at this rank or later) is 1, 2/3, 2/3, .5, .5, .5.
    darknet_all_point: .25 x 1 + .25 x 2/3 + .25 x .5 = 13/24.
    coco_101: 26 points (0 ... .25) at 1, 25 (.26 ... .5) at 2/3, 25 (.51 ... .75) at .5, 25 at 0."""
    gt = coco_gt({1: PERSONS})
    found = results((1, PERSONS[0], 0.9), (1, FAR, 0.8), (1, PERSONS[1], 0.7), (1, FAR, 0.6), (1, FAR, 0.5),
                    (1, PERSONS[2], 0.4))
    assert ap(gt, found, "darknet_all_point") == pytest.approx(13 / 24)
    assert ap(gt, found, "coco_101") == pytest.approx((26 + 25 * 2 / 3 + 25 * 0.5) / 101)


@pytest.mark.parametrize("method", AP_METHODS)
def test_no_detection_is_ap_zero_and_a_perfect_one_is_ap_one(method):
    gt = coco_gt({1: [A, B], 2: []})
    assert ap(gt, [], method) == 0.0
    assert ap(gt, results((1, A, 0.9), (1, B, 0.5)), method) == pytest.approx(1.0)


LEFT, RIGHT = Box(0, 0, 10, 10), Box(2, 0, 12, 10)


def test_an_iou_tie_goes_to_the_later_person_in_coco_and_to_the_first_in_darknet():
    """`first` overlaps LEFT and RIGHT equally (IoU 90/110); `second` overlaps RIGHT only (80/120 = .67;
    LEFT 60/140 = .43). COCOeval gives `first` the later person, RIGHT, and `second` finds nothing;
    darknet (and the first-on-ties matcher this code had before) gives it LEFT, and `second` RIGHT."""
    first, second = Box(1, 0, 11, 10), Box(4, 0, 14, 10)
    ious = iou_matrix([[1, 0, 11, 10], [4, 0, 14, 10]], [[0, 0, 10, 10], [2, 0, 12, 10]])
    assert ious[0, 0] == ious[0, 1]
    assert match_ranked(ious, "coco_101").tolist() == [True, False]
    assert match_ranked(ious, "darknet_all_point").tolist() == [True, True]
    gt, found = coco_gt({1: [LEFT, RIGHT]}), results((1, first, 0.9), (1, second, 0.8))
    assert ap(gt, found, "coco_101") == pytest.approx(pycocotools_ap50(gt, found)) == pytest.approx(51 / 101)


def test_a_duplicate_is_a_false_positive_in_darknet_even_beside_an_unfound_person():
    """`dup` overlaps the found LEFT most (IoU .905) and the unfound RIGHT too (.739): COCOeval lets it
    take RIGHT, darknet (VOC's rule) counts it as a duplicate of LEFT."""
    ious = iou_matrix([[0, 0, 10, 10], [0.5, 0, 10.5, 10]], [[0, 0, 10, 10], [2, 0, 12, 10]])
    assert match_ranked(ious, "coco_101").tolist() == [True, True]
    assert match_ranked(ious, "darknet_all_point").tolist() == [True, False]


def test_iou_of_exactly_one_half_matches_in_coco_but_not_in_darknet():
    ious = iou_matrix([[0, 0, 10, 20]], [[0, 0, 10, 10]])
    assert ious[0, 0] == 0.5
    assert match_ranked(ious, "coco_101").tolist() == [True]  # IoU >= 0.5
    assert match_ranked(ious, "darknet_all_point").tolist() == [False]  # IoU > 0.5


def test_coco_sees_only_the_best_100_detections_of_an_image_and_darknet_all():
    """A person found only by the 101st detection of its image: COCO AP 0, darknet 1/101 (recall 1 at P 1/101)."""
    gt = coco_gt({1: [A]})
    found = results(*((1, FAR, 0.9 - i / 1000) for i in range(100)), (1, A, 0.5))
    assert ap(gt, found, "coco_101") == 0.0 == pytest.approx(pycocotools_ap50(gt, found))
    assert ap(gt, found, "darknet_all_point") == pytest.approx(1 / 101)


@pytest.mark.parametrize("seed", range(6))
def test_coco_101_is_pycocotools(seed):
    gt, detections = random_case(seed)
    assert ap(gt, detections, "coco_101") == pytest.approx(pycocotools_ap50(gt, detections), abs=1e-12)


def voc_ap50(gt: dict, detections: list[dict]) -> float:
    """darknet's `detector map` (map_points 0) as the VOC devkit writes it, one detection at a time:
    all detections by score; each is a hit if its best-overlapping person (IoU > .5) is not yet
    found; AP = sum over recall steps of the precision envelope, with sentinels (0, 0) and (1, 0)."""
    persons: dict[int, list] = {}
    for a in gt["annotations"]:
        persons.setdefault(a["image_id"], []).append(a["bbox"])
    found = {image: [False] * len(boxes) for image, boxes in persons.items()}
    hits = []
    for d in sorted(detections, key=lambda d: -d["score"]):
        best, best_iou = None, 0.5
        for j, (x, y, w, h) in enumerate(persons.get(d["image_id"], [])):
            dx, dy, dw, dh = d["bbox"]
            iw = max(0.0, min(x + w, dx + dw) - max(x, dx))
            ih = max(0.0, min(y + h, dy + dh) - max(y, dy))
            iou = iw * ih / (w * h + dw * dh - iw * ih)
            if iou > best_iou:
                best, best_iou = j, iou
        hit = best is not None and not found[d["image_id"]][best]
        if hit:
            found[d["image_id"]][best] = True
        hits.append(hit)
    tp = np.cumsum(hits)
    recall = np.concatenate(([0.0], tp / len(gt["annotations"]), [1.0]))
    precision = np.concatenate(([0.0], tp / np.arange(1, len(hits) + 1), [0.0]))
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


@pytest.mark.parametrize("seed", range(6))
def test_darknet_all_point_is_the_voc_computation(seed):
    gt, detections = random_case(seed)
    assert ap(gt, detections, "darknet_all_point") == pytest.approx(voc_ap50(gt, detections), abs=1e-12)


# ultralytics reads its offline switches when first imported: it runs in a fresh process, fed the
# ranked boxes of each image, and answers its own matching and its AP@0.5.
ULTRALYTICS = textwrap.dedent(
    """
    import json, sys, types
    from pathlib import Path
    from cg2real.detector.predict import ensure_offline_ultralytics

    ensure_offline_ultralytics(Path(sys.argv[1]))
    import numpy as np, torch
    from ultralytics.engine.validator import BaseValidator
    from ultralytics.utils.metrics import ap_per_class, box_iou, compute_ap

    cases = json.loads(sys.stdin.read())
    validator = types.SimpleNamespace(iouv=torch.linspace(0.5, 0.95, 10))
    answers = []
    for case in cases:
        correct, scores = [], []
        for image in case["images"]:
            gt = torch.tensor(image["gt"], dtype=torch.float64).reshape(-1, 4)
            dets = torch.tensor(image["dets"], dtype=torch.float64).reshape(-1, 4)
            if len(gt) and len(dets):
                matched = BaseValidator.match_predictions(validator, torch.zeros(len(dets)), torch.zeros(len(gt)),
                                                          box_iou(gt, dets)).numpy()
            else:
                matched = np.zeros((len(dets), 10), bool)
            correct.append(matched)
            scores += image["scores"]
        tp = np.concatenate(correct)
        ap50 = ap_per_class(tp, np.array(scores), np.zeros(len(scores)), np.zeros(case["n_gt"]))[5][0, 0]
        curve = case["curve"]
        answers.append({"tp": tp[:, 0].tolist(), "ap50": float(ap50),
                        "ap50_of_our_curve": float(compute_ap(np.array(curve[0]), np.array(curve[1]))[0])})
    print(json.dumps(answers))
    """
)


def _xyxy(bbox: list[float]) -> list[float]:
    x, y, w, h = bbox
    return [x, y, x + w, y + h]


def test_ultralytics_matching_is_ours_and_its_ap_differs_only_by_interpolation(tmp_path):
    """On untied IoUs ultralytics' `match_predictions` (best unclaimed target, IoU >= .5, by score)
    gives exactly coco_101's outcomes; fed our precision-recall curve, its `compute_ap` (101-point
    trapezoid over the linearly interpolated envelope) gives exactly the AP of its own pipeline. What
    remains between its mAP50 and ours is the interpolation (and, in `val()`, its inference: README)."""
    pytest.importorskip("ultralytics")
    cases, ours = [], []
    for seed in range(3):
        gt, detections = random_case(seed)
        outcomes = ImageOutcomes.from_coco(gt, detections, "coco_101")
        images = []
        for image_id in outcomes.image_ids:
            ranked = sorted((d for d in detections if d["image_id"] == image_id), key=lambda d: -d["score"])
            images.append({"gt": [_xyxy(a["bbox"]) for a in gt["annotations"] if a["image_id"] == image_id],
                           "dets": [_xyxy(d["bbox"]) for d in ranked], "scores": [d["score"] for d in ranked]})
        tp = np.cumsum(outcomes.det_tp)
        curve = [(tp / outcomes.n_persons).tolist(), (tp / np.arange(1, len(tp) + 1)).tolist()]
        cases.append({"images": images, "n_gt": outcomes.n_persons, "curve": curve})
        by_image = [outcomes.det_tp[outcomes.det_image == i][np.argsort(outcomes.det_rank[outcomes.det_image == i])]
                    for i in range(len(outcomes.image_ids))]
        ours.append((np.concatenate(by_image).tolist(), average_precision(outcomes)))
    answer = subprocess.run([sys.executable, "-c", ULTRALYTICS, str(tmp_path / "config")], input=json.dumps(cases),
                            capture_output=True, text=True, check=True, timeout=300)
    for (tp, coco_ap), theirs in zip(ours, json.loads(answer.stdout.splitlines()[-1]), strict=True):
        assert theirs["tp"] == tp
        assert theirs["ap50_of_our_curve"] == pytest.approx(theirs["ap50"], abs=1e-12)
        assert abs(theirs["ap50"] - coco_ap) > 1e-6  # the interpolations really differ
