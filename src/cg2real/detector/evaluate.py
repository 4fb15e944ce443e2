"""Table 2's detector columns: TP/FP/FN, precision, recall, F1 and mAP@0.50 on the real validation split.

mAP@0.50 is pycocotools' (COCOeval with the single IoU threshold 0.5, all box sizes, 100 detections
per image), computed from predictions at a low confidence so the whole precision-recall curve is
seen. The counts need one operating point: detections at or above a confidence threshold are
matched greedily, in order of descending score, each to the still unmatched ground-truth box it
overlaps most (IoU >= 0.5), so a ground-truth box is found at most once. A detection's outcome then
depends only on the detections of its image that score higher, which is why the F1-optimal
threshold can be found from one matching of all detections and one sort.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cg2real.boxes import Box, iou_matrix
from cg2real.coco import COCO_MAX_DETS, IOU_THRESHOLD, PERSON_CATEGORY_ID

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Detection:
    """One predicted person box with its confidence."""

    box: Box
    score: float


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and missed ground-truth boxes at one operating point."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


@dataclass(frozen=True)
class ThresholdChoice:
    """The confidence threshold with the highest F1; None when no threshold finds a person."""

    threshold: float | None
    counts: Counts


def _ratio(numerator: int, denominator: int) -> float:
    """numerator / denominator with 0/0 = 0, the convention for an empty detector or empty truth."""
    return numerator / denominator if denominator else 0.0


def _xyxy(boxes: Iterable[Box]) -> np.ndarray:
    return np.array([(b.x1, b.y1, b.x2, b.y2) for b in boxes], float).reshape(-1, 4)


def _by_score(detections: Sequence[Detection]) -> list[Detection]:
    """Highest score first; equal scores keep their order (as COCOeval's stable sort does)."""
    return sorted(detections, key=lambda d: -d.score)


def _greedy_match(gt: Sequence[Box], ranked: Sequence[Detection], iou_threshold: float) -> np.ndarray:
    """Whether each detection of one image (already ranked by score) is a true positive."""
    is_tp = np.zeros(len(ranked), bool)
    if not gt or not ranked:
        return is_tp
    ious = iou_matrix(_xyxy(d.box for d in ranked), _xyxy(gt))
    unmatched = np.ones(len(gt), bool)
    for i, row in enumerate(ious):
        candidates = np.where(unmatched & (row >= iou_threshold), row, -1.0)
        best = int(candidates.argmax())
        if candidates[best] >= 0:
            unmatched[best] = False
            is_tp[i] = True
    return is_tp


def match_detections(
    gt_by_image: Mapping[int, Sequence[Box]],
    detections_by_image: Mapping[int, Sequence[Detection]],
    iou_threshold: float = IOU_THRESHOLD,
    conf_threshold: float = 0.0,
) -> Counts:
    """Greedy one-to-one matching of the detections scoring >= `conf_threshold`, image by image."""
    tp = fp = 0
    for image_id in gt_by_image.keys() | detections_by_image.keys():
        kept = [d for d in detections_by_image.get(image_id, ()) if d.score >= conf_threshold]
        is_tp = _greedy_match(gt_by_image.get(image_id, ()), _by_score(kept), iou_threshold)
        tp += int(is_tp.sum())
        fp += int((~is_tp).sum())
    return Counts(tp=tp, fp=fp, fn=_n_boxes(gt_by_image) - tp)


def _n_boxes(gt_by_image: Mapping[int, Sequence[Box]]) -> int:
    return sum(len(boxes) for boxes in gt_by_image.values())


def best_f1_threshold(
    gt_by_image: Mapping[int, Sequence[Box]],
    detections_by_image: Mapping[int, Sequence[Detection]],
    iou_threshold: float = IOU_THRESHOLD,
) -> ThresholdChoice:
    """The confidence threshold (one of the detection scores) whose counts have the highest F1.

    Raising the threshold removes the lowest-scoring detections of each image and leaves the
    matches of the others as they were, so every detection's outcome is fixed by one matching at
    threshold 0; cumulative sums over all detections in score order then give the counts at every
    threshold. On ties the highest threshold wins (fewer detections for the same F1).
    """
    scores, outcomes = [], []
    for image_id, detections in detections_by_image.items():
        ranked = _by_score(detections)
        outcomes.append(_greedy_match(gt_by_image.get(image_id, ()), ranked, iou_threshold))
        scores.append(np.array([d.score for d in ranked], float))
    n_gt = _n_boxes(gt_by_image)
    if not scores or not np.concatenate(outcomes).any():
        return ThresholdChoice(threshold=None, counts=Counts(tp=0, fp=0, fn=n_gt))
    all_scores, all_tp = np.concatenate(scores), np.concatenate(outcomes)
    order = np.argsort(-all_scores, kind="stable")
    all_scores, tp = all_scores[order], np.cumsum(all_tp[order])
    fp = np.arange(1, len(order) + 1) - tp
    last_of_tie = np.append(all_scores[1:] != all_scores[:-1], True)  # a threshold keeps a whole tie
    f1 = np.where(last_of_tie, 2 * tp / (n_gt + tp + fp), -1.0)
    best = int(f1.argmax())
    return ThresholdChoice(
        threshold=float(all_scores[best]), counts=Counts(tp=int(tp[best]), fp=int(fp[best]), fn=n_gt - int(tp[best]))
    )


def coco_map50(coco_gt: dict, detections: list[dict]) -> float:
    """pycocotools' AP at IoU 0.50 for the person category (all areas, 100 detections per image).

    No detections give 0.0 (pycocotools itself cannot load an empty result list). A ground truth
    without any person box has no AP at all, which is refused rather than reported as a number.
    """
    if not any(a["category_id"] == PERSON_CATEGORY_ID for a in coco_gt["annotations"]):
        raise ValueError("the ground truth has no person box: mAP@0.50 is undefined")
    _check_image_ids(coco_gt, detections)
    if not detections:
        return 0.0
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with _pycocotools_output_to_log():
        gt = COCO()
        # pycocotools adds keys to the entries it is given (`ignore` flags; result ids and areas)
        gt.dataset = {**coco_gt, "annotations": [dict(a) for a in coco_gt["annotations"]]}
        gt.createIndex()
        dt = gt.loadRes([dict(d) for d in detections])
        evaluator = COCOeval(gt, dt, iouType="bbox")
        evaluator.params.catIds = [PERSON_CATEGORY_ID]
        evaluator.params.iouThrs = np.array([0.5])
        evaluator.params.maxDets = [COCO_MAX_DETS]
        evaluator.params.areaRng = [[0.0, 1e10]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.evaluate()
        evaluator.accumulate()
    # [iou, recall, category, area, maxDets]; every recall point is set, since there are persons
    return float(evaluator.eval["precision"][0, :, 0, 0, 0].mean())


def _check_image_ids(coco_gt: dict, detections: list[dict]) -> None:
    """Refuse detections on images the ground truth does not list (pycocotools only asserts)."""
    known = {image["id"] for image in coco_gt["images"]}
    unknown = {d["image_id"] for d in detections} - known
    if unknown:
        raise ValueError(f"detections for {len(unknown)} image ids not in the ground truth, e.g. {min(unknown)}")


@contextlib.contextmanager
def _pycocotools_output_to_log():
    """pycocotools prints its progress; send it to the debug log instead of the rule's stdout."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    for line in buffer.getvalue().splitlines():
        log.debug("pycocotools: %s", line)


def _coco_box(bbox: Sequence[float]) -> Box:
    x, y, w, h = bbox
    return Box(x, y, x + w, y + h)


def gt_boxes_by_image(coco_gt: dict) -> dict[int, list[Box]]:
    """Person boxes of every ground-truth image (images without persons map to an empty list)."""
    boxes: dict[int, list[Box]] = {image["id"]: [] for image in coco_gt["images"]}
    for annotation in coco_gt["annotations"]:
        if annotation["category_id"] == PERSON_CATEGORY_ID:
            boxes[annotation["image_id"]].append(_coco_box(annotation["bbox"]))
    return boxes


def detections_by_image(detections: list[dict]) -> dict[int, list[Detection]]:
    """COCO result entries of the person category, grouped by image."""
    grouped: dict[int, list[Detection]] = defaultdict(list)
    for entry in detections:
        if entry["category_id"] == PERSON_CATEGORY_ID:
            grouped[entry["image_id"]].append(Detection(_coco_box(entry["bbox"]), float(entry["score"])))
    return dict(grouped)


def evaluate_detections(
    coco_gt: dict, detections: list[dict], conf_threshold: float, iou_threshold: float = IOU_THRESHOLD
) -> dict:
    """Every detector column of Table 2 for one set of predictions, as JSON-ready numbers."""
    gt, found = gt_boxes_by_image(coco_gt), detections_by_image(detections)
    counts = match_detections(gt, found, iou_threshold=iou_threshold, conf_threshold=conf_threshold)
    best = best_f1_threshold(gt, found, iou_threshold=iou_threshold)
    return {
        "tp": counts.tp,
        "fp": counts.fp,
        "fn": counts.fn,
        "precision": counts.precision,
        "recall": counts.recall,
        "f1": counts.f1,
        "map50": coco_map50(coco_gt, detections),
        "conf_threshold": float(conf_threshold),
        "iou_threshold": float(iou_threshold),
        "best_f1_threshold": best.threshold,
        "best_f1": best.counts.f1,
        "best_f1_precision": best.counts.precision,
        "best_f1_recall": best.counts.recall,
        "n_images": len(coco_gt["images"]),
        "n_gt_boxes": _n_boxes(gt),
        "n_detections": len(detections),
    }
