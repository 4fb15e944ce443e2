"""How Table 2 scores person detections against the ground truth: one matching and one AP per method.

Two reference implementations disagree on both steps, and Table 2 can follow either
(config detector.evaluate.ap_method):

- `coco_101`, pycocotools' COCOeval for one category at IoU 0.5, all box sizes: each detection, in
  order of score, takes the still unfound person it overlaps most with IoU >= 0.5 (the later
  person on ties); AP is the mean, over the 101 recall points 0, 0.01, ..., 1, of the precision
  envelope at the first rank reaching that recall, over each image's 100 best detections.
- `darknet_all_point`, darknet's `detector map` (the paper's Table 2): each detection, in order of
  score, is given the person it overlaps most with IoU > 0.5 (the first on ties) whether or not that
  person is already found, and is a true positive only if it is not (VOC's rule: a duplicate does
  not fall back to a second person); AP is the area under the precision envelope over the whole
  precision-recall curve (VOC2010+ all-point interpolation), with every detection.

Both matchings are greedy in score order within an image, so a detection's outcome depends only on
the detections of its image that score higher. One matching of all detections therefore gives the
counts at any confidence threshold, the AP under a per-image cap (each image's top k) and the AP of
any reweighting of the images (a bootstrap resample), without matching again. The detector stage
(a row's numbers) and the report (the bootstrap over images) both score through this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cg2real.boxes import iou_matrix
from cg2real.coco import COCO_MAX_DETS, IOU_THRESHOLD, PERSON_CATEGORY_ID

AP_METHODS = ("coco_101", "darknet_all_point")
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)  # COCOeval's recThrs
MAX_DETS = {"coco_101": COCO_MAX_DETS, "darknet_all_point": None}  # detections per image AP sees (None: all)
_CHUNK = 20_000_000  # resamples x detections per vectorised block


def check_method(method: str) -> str:
    """`method` when it is one of AP_METHODS; a ValueError naming them otherwise."""
    if method not in AP_METHODS:
        raise ValueError(f"unknown AP method {method!r}; expected one of {', '.join(AP_METHODS)}")
    return method


def match_ranked(ious: np.ndarray, method: str, iou_threshold: float = IOU_THRESHOLD) -> np.ndarray:
    """Whether each detection of one image is a true positive; `ious` is detections (best score
    first) x ground-truth persons."""
    check_method(method)
    ious = np.asarray(ious, float)
    is_tp = np.zeros(len(ious), bool)
    if ious.size == 0:
        return is_tp
    found = np.zeros(ious.shape[1], bool)
    if method == "coco_101":
        threshold = min(iou_threshold, 1 - 1e-10)  # COCOeval's bound, so that IoU 1 can match at threshold 1
        for i, row in enumerate(ious):
            candidates = np.where(~found & (row >= threshold), row, -1.0)
            if candidates.max() >= 0:
                best = len(row) - 1 - int(np.argmax(candidates[::-1]))  # the later person on ties
                found[best] = is_tp[i] = True
        return is_tp
    for i, row in enumerate(ious):
        best = int(np.argmax(row))  # the first person on ties
        if row[best] > iou_threshold and not found[best]:
            found[best] = is_tp[i] = True
    return is_tp


@dataclass(frozen=True)
class ImageOutcomes:
    """Every detection of one checkpoint matched once, in the order AP accumulates them."""

    method: str
    image_ids: tuple[int, ...]  # sorted, as COCOeval's imgIds
    n_gt: np.ndarray  # persons per image
    det_image: np.ndarray  # index into image_ids of each detection, in accumulation order (score, then image)
    det_score: np.ndarray  # its confidence
    det_rank: np.ndarray  # its rank among the detections of its image (0: the best)
    det_tp: np.ndarray  # whether it is a true positive

    @classmethod
    def from_coco(cls, coco_gt: dict, detections: list[dict], method: str,
                  iou_threshold: float = IOU_THRESHOLD) -> ImageOutcomes:
        """Match COCO results (person category) against a COCO ground truth, image by image."""
        check_method(method)
        image_ids = tuple(sorted(image["id"] for image in coco_gt["images"]))
        index = {image_id: i for i, image_id in enumerate(image_ids)}
        gt: list[list] = [[] for _ in image_ids]
        for a in coco_gt["annotations"]:
            if a["category_id"] == PERSON_CATEGORY_ID:
                if a.get("iscrowd", 0):
                    raise ValueError("crowd boxes are not supported (pycocotools ignores them, darknet has none)")
                gt[index[a["image_id"]]].append(_xyxy(a["bbox"]))
        found: list[list] = [[] for _ in image_ids]
        for d in detections:
            if d["category_id"] == PERSON_CATEGORY_ID:
                if d["image_id"] not in index:
                    raise ValueError(f"detection on image {d['image_id']}, not in the ground truth")
                found[index[d["image_id"]]].append((float(d["score"]), _xyxy(d["bbox"])))
        scores, images, ranks, tps = [np.zeros(0)], [np.zeros(0, int)], [np.zeros(0, int)], [np.zeros(0, bool)]
        for i, (boxes, dets) in enumerate(zip(gt, found, strict=True)):
            dets = [dets[j] for j in np.argsort([-s for s, _ in dets], kind="mergesort")]
            ious = iou_matrix(np.array([b for _, b in dets], float), np.array(boxes, float))
            tps.append(match_ranked(ious, method, iou_threshold))
            scores.append(np.array([s for s, _ in dets], float))
            images.append(np.full(len(dets), i))
            ranks.append(np.arange(len(dets)))
        all_scores = np.concatenate(scores)
        order = np.argsort(-all_scores, kind="mergesort")  # COCOeval's: by score, then image, then rank
        return cls(method, image_ids, np.array([len(b) for b in gt], int), np.concatenate(images)[order],
                   all_scores[order], np.concatenate(ranks)[order], np.concatenate(tps)[order])

    @property
    def n_persons(self) -> int:
        return int(self.n_gt.sum())


def _xyxy(bbox: list[float]) -> tuple[float, float, float, float]:
    x, y, w, h = bbox
    return x, y, x + w, y + h


def average_precision(outcomes: ImageOutcomes, counts: np.ndarray | None = None) -> np.ndarray | float:
    """AP@0.5 by the outcomes' method, image i counted counts[..., i] times (None: once each, a float).

    `counts` of shape (resamples, images) gives one AP per resample (NaN where no person is drawn).
    """
    single = counts is None
    counts = np.ones((1, len(outcomes.image_ids))) if single else np.atleast_2d(np.asarray(counts, float))
    cap = MAX_DETS[outcomes.method]
    kept = np.ones(len(outcomes.det_tp), bool) if cap is None else outcomes.det_rank < cap
    det_image, det_tp = outcomes.det_image[kept], outcomes.det_tp[kept]
    per_block = max(1, _CHUNK // max(1, len(det_tp)))
    blocks = [_ap_block(outcomes.method, outcomes.n_gt, det_image, det_tp, counts[i:i + per_block])
              for i in range(0, len(counts), per_block)]
    result = np.concatenate(blocks)
    return float(result[0]) if single else result


def _ap_block(method: str, n_gt: np.ndarray, det_image: np.ndarray, det_tp: np.ndarray,
              counts: np.ndarray) -> np.ndarray:
    n_persons = counts @ n_gt
    weights = counts[:, det_image]
    tp = np.cumsum(weights * det_tp, axis=1)
    fp = np.cumsum(weights * ~det_tp, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / n_persons[:, None]
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0)  # COCOeval adds eps instead
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]  # best precision at this recall or more
    ap = np.full(len(counts), np.nan)
    for r in np.flatnonzero(n_persons > 0):
        ap[r] = _coco_101(recall[r], envelope[r]) if method == "coco_101" else _all_point(recall[r], envelope[r])
    return ap


def _coco_101(recall: np.ndarray, envelope: np.ndarray) -> float:
    """COCOeval: the envelope at the first rank reaching each recall point, 0 past the last recall."""
    at = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
    return float(envelope[at[at < len(recall)]].sum() / len(RECALL_THRESHOLDS))


def _all_point(recall: np.ndarray, envelope: np.ndarray) -> float:
    """darknet (map_points 0) and VOC2010+: each recall step times the envelope at its end, summed."""
    return float(np.sum(np.diff(recall, prepend=0.0) * envelope))
