"""Table 2's detector columns: TP/FP/FN, precision, recall, F1 and mAP@0.50 on the real validation split.

What darknet's `detector map` prints, which is what the paper's Table 2 shows: the counts at one
operating point (detections scoring at least the confidence threshold, 0.25 in darknet) and
mAP@0.50 over every detection the predictor kept (its confidence floor), the whole
precision-recall curve. Matching and AP follow the configured method (`cg2real.scoring`: COCO's
101-point or darknet's all-point). Every detection is matched once; since its outcome depends only
on the higher-scoring detections of its image, the counts at any threshold follow from cumulative
sums, which is also how the F1-optimal threshold is found.

With COCO's method the row's mAP@0.50 is pycocotools' own COCOeval, the reference itself;
`cg2real.scoring` computes the same number (equal to 1e-12 in tests/test_scoring.py) for what
pycocotools cannot do cheaply: the bootstrap over images in the report.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass

import numpy as np

from cg2real.coco import COCO_MAX_DETS, IOU_THRESHOLD, PERSON_CATEGORY_ID
from cg2real.scoring import ImageOutcomes, average_precision

log = logging.getLogger(__name__)


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


def counts_at(outcomes: ImageOutcomes, conf_threshold: float) -> Counts:
    """TP/FP/FN of the detections scoring >= `conf_threshold` (every detection, no per-image cap)."""
    kept = outcomes.det_score >= conf_threshold
    tp = int(outcomes.det_tp[kept].sum())
    return Counts(tp=tp, fp=int(kept.sum()) - tp, fn=outcomes.n_persons - tp)


def best_f1_threshold(outcomes: ImageOutcomes) -> ThresholdChoice:
    """The confidence threshold (one of the detection scores) whose counts have the highest F1.

    Detections are in score order, so cumulative sums give the counts at every threshold; a
    threshold keeps a whole tie of scores. On equal F1 the highest threshold wins (fewer detections).
    """
    n_gt = outcomes.n_persons
    if not outcomes.det_tp.any():
        return ThresholdChoice(threshold=None, counts=Counts(tp=0, fp=0, fn=n_gt))
    scores, tp = outcomes.det_score, np.cumsum(outcomes.det_tp)
    fp = np.arange(1, len(scores) + 1) - tp
    last_of_tie = np.append(scores[1:] != scores[:-1], True)
    f1 = np.where(last_of_tie, 2 * tp / (n_gt + tp + fp), -1.0)
    best = int(f1.argmax())
    return ThresholdChoice(
        threshold=float(scores[best]), counts=Counts(tp=int(tp[best]), fp=int(fp[best]), fn=n_gt - int(tp[best]))
    )


def map50(outcomes: ImageOutcomes) -> float:
    """mAP@0.50 (one category: its AP) by the outcomes' method; refused without any person box."""
    if outcomes.n_persons == 0:
        raise ValueError("the ground truth has no person box: mAP@0.50 is undefined")
    return average_precision(outcomes)


def pycocotools_map50(coco_gt: dict, detections: list[dict], iou_threshold: float = IOU_THRESHOLD) -> float:
    """pycocotools' AP at one IoU threshold for the person category (all areas, 100 detections per
    image). No detections give 0.0 (pycocotools cannot load an empty result list)."""
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
        evaluator.params.iouThrs = np.array([iou_threshold])
        evaluator.params.maxDets = [COCO_MAX_DETS]
        evaluator.params.areaRng = [[0.0, 1e10]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.evaluate()
        evaluator.accumulate()
    # [iou, recall, category, area, maxDets]; every recall point is set, since there are persons
    return float(evaluator.eval["precision"][0, :, 0, 0, 0].mean())


@contextlib.contextmanager
def _pycocotools_output_to_log():
    """pycocotools prints its progress; send it to the debug log instead of the rule's stdout."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    for line in buffer.getvalue().splitlines():
        log.debug("pycocotools: %s", line)


def evaluate_detections(
    coco_gt: dict, detections: list[dict], conf_threshold: float, ap_method: str,
    iou_threshold: float = IOU_THRESHOLD,
) -> dict:
    """Every detector column of Table 2 for one set of predictions (COCO results), as JSON-ready numbers."""
    outcomes = ImageOutcomes.from_coco(coco_gt, detections, ap_method, iou_threshold)
    counts = counts_at(outcomes, conf_threshold)
    best = best_f1_threshold(outcomes)
    ap = map50(outcomes)
    if ap_method == "coco_101":
        ap = pycocotools_map50(coco_gt, detections, iou_threshold)
    return {
        "tp": counts.tp,
        "fp": counts.fp,
        "fn": counts.fn,
        "precision": counts.precision,
        "recall": counts.recall,
        "f1": counts.f1,
        "map50": ap,
        "ap_method": ap_method,
        "conf_threshold": float(conf_threshold),
        "iou_threshold": float(iou_threshold),
        "best_f1_threshold": best.threshold,
        "best_f1": best.counts.f1,
        "best_f1_precision": best.counts.precision,
        "best_f1_recall": best.counts.recall,
        "n_images": len(coco_gt["images"]),
        "n_gt_boxes": outcomes.n_persons,
        "n_detections": len(detections),
    }
