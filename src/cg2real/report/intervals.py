"""Intervals for Table 2 (numpy only): over replicates (Student t) and over validation images (bootstrap).

- `t_interval`: mean of k replicate values with its 95% t-interval (k = 1: no interval, None).
- `ImageOutcomes`: one checkpoint's cached COCO detections, matched once, image by image, exactly as
  pycocotools' COCOeval does for Table 2's setting (one category, IoU 0.5, all areas, 100 detections
  per image); `average_precision` then gives pycocotools' AP@0.5 for any weighting of the images, so
  a bootstrap resample (image i drawn w_i times) costs a cumulative sum, not an inference or a
  COCOeval run. With all weights 1 it is pycocotools' number (tests/report/test_intervals.py).
- `bootstrap_counts`, `percentile_interval`: the percentile bootstrap over images; the same counts
  used for two rows give their paired difference.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cg2real.boxes import iou_matrix
from cg2real.coco import COCO_MAX_DETS, IOU_THRESHOLD, PERSON_CATEGORY_ID

CONFIDENCE = 0.95
RESAMPLES = 1000
BOOTSTRAP_SEED = 0
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)  # COCOeval's recThrs
_CHUNK = 20_000_000  # resamples x detections per vectorised block


def _t_cdf(x: float, dof: int) -> float:
    """Student t CDF for x >= 0 (numerical integration of the density; exact to ~1e-9)."""
    log_c = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)
    grid = np.linspace(0.0, x, 20001)
    density = np.exp(log_c - (dof + 1) / 2 * np.log1p(grid**2 / dof))
    return 0.5 + float(np.sum((density[1:] + density[:-1]) / 2 * np.diff(grid)))


@functools.lru_cache(maxsize=256)
def t_quantile(p: float, dof: int) -> float:
    """The p quantile (p > 0.5) of Student's t with `dof` degrees of freedom, by bisection."""
    low, high = 0.0, 1.0
    while _t_cdf(high, dof) < p:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if _t_cdf(mid, dof) < p else (low, mid)
    return (low + high) / 2


@dataclass(frozen=True)
class Estimate:
    """A mean with its interval (low, high); None when there is none (one replicate)."""

    mean: float
    low: float | None = None
    high: float | None = None

    @property
    def excludes_zero(self) -> bool | None:
        return None if self.low is None else bool(self.low > 0 or self.high < 0)

    def as_json(self) -> dict:
        return {"mean": self.mean, "low": self.low, "high": self.high}


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean of the replicate values and its t-interval (None for k = 1: no spread to measure)."""
    values = np.asarray(values, float)
    mean = float(values.mean())
    if len(values) < 2:
        return Estimate(mean)
    half = t_quantile(0.5 + confidence / 2, len(values) - 1) * float(values.std(ddof=1)) / math.sqrt(len(values))
    return Estimate(mean, mean - half, mean + half)


def percentile_interval(samples: np.ndarray, point: float, confidence: float = CONFIDENCE) -> Estimate:
    """`point` with the percentile interval of its bootstrap `samples` (resamples without a value skipped)."""
    samples = np.asarray(samples, float)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return Estimate(point)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Estimate(point, float(low), float(high))


def bootstrap_counts(n_images: int, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """How often each image is drawn in each resample (resamples x n_images), with replacement."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_images, np.full(n_images, 1 / n_images), size=resamples)


@dataclass(frozen=True)
class ImageOutcomes:
    """Detections of one checkpoint matched once, in COCOeval's accumulation order."""

    image_ids: tuple[int, ...]  # sorted, as COCOeval's imgIds
    n_gt: np.ndarray  # persons per image
    det_image: np.ndarray  # index into image_ids of each detection, in accumulation order
    det_tp: np.ndarray  # whether it is a true positive at IoU 0.5

    @classmethod
    def from_coco(cls, coco_gt: dict, detections: list[dict], iou_threshold: float = IOU_THRESHOLD) -> ImageOutcomes:
        image_ids = tuple(sorted(image["id"] for image in coco_gt["images"]))
        index = {image_id: i for i, image_id in enumerate(image_ids)}
        gt: list[list] = [[] for _ in image_ids]
        for a in coco_gt["annotations"]:
            if a["category_id"] == PERSON_CATEGORY_ID:
                if a.get("iscrowd", 0):
                    raise ValueError("crowd boxes are not supported by the exact AP (pycocotools ignores them)")
                x, y, w, h = a["bbox"]
                gt[index[a["image_id"]]].append((x, y, x + w, y + h))
        found: list[list] = [[] for _ in image_ids]
        for d in detections:
            if d["category_id"] == PERSON_CATEGORY_ID:
                if d["image_id"] not in index:
                    raise ValueError(f"detection on image {d['image_id']}, not in the ground truth")
                x, y, w, h = d["bbox"]
                found[index[d["image_id"]]].append((float(d["score"]), (x, y, x + w, y + h)))
        scores, images, tps = [], [], []
        for i, (boxes, dets) in enumerate(zip(gt, found, strict=True)):
            order = np.argsort([-s for s, _ in dets], kind="mergesort")[:COCO_MAX_DETS]
            dets = [dets[j] for j in order]
            tps.append(_coco_match(np.array(boxes, float), np.array([b for _, b in dets], float), iou_threshold))
            scores.append(np.array([s for s, _ in dets], float))
            images.append(np.full(len(dets), i))
        all_scores = np.concatenate(scores) if scores else np.zeros(0)
        order = np.argsort(-all_scores, kind="mergesort")
        return cls(image_ids, np.array([len(b) for b in gt]), np.concatenate(images)[order].astype(int),
                   np.concatenate(tps)[order])


def _coco_match(gt: np.ndarray, dets: np.ndarray, iou_threshold: float) -> np.ndarray:
    """COCOeval's matching of one image: each detection (by score) takes the unmatched box of highest
    IoU >= the threshold, the later box on ties."""
    is_tp = np.zeros(len(dets), bool)
    if not len(gt) or not len(dets):
        return is_tp
    ious = iou_matrix(dets, gt)
    unmatched = np.ones(len(gt), bool)
    threshold = min(iou_threshold, 1 - 1e-10)
    for i, row in enumerate(ious):
        candidates = np.where(unmatched & (row >= threshold), row, -1.0)
        if candidates.max() >= 0:
            best = len(gt) - 1 - int(np.argmax(candidates[::-1]))
            unmatched[best] = False
            is_tp[i] = True
    return is_tp


def average_precision(outcomes: ImageOutcomes, counts: np.ndarray | None = None) -> np.ndarray | float:
    """pycocotools' AP@0.5 with image i counted counts[..., i] times (None: once each, a float).

    `counts` of shape (resamples, images) gives one AP per resample (NaN where no person is drawn).
    """
    single = counts is None
    counts = np.ones((1, len(outcomes.image_ids))) if single else np.atleast_2d(np.asarray(counts, float))
    per_block = max(1, _CHUNK // max(1, len(outcomes.det_tp)))
    result = np.concatenate([_ap_block(outcomes, counts[i:i + per_block]) for i in range(0, len(counts), per_block)])
    return float(result[0]) if single else result


def _ap_block(outcomes: ImageOutcomes, counts: np.ndarray) -> np.ndarray:
    n_persons = counts @ outcomes.n_gt
    weights = counts[:, outcomes.det_image]
    tp = np.cumsum(weights * outcomes.det_tp, axis=1)
    fp = np.cumsum(weights * ~outcomes.det_tp, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / n_persons[:, None]
    precision = tp / (tp + fp + np.spacing(1))
    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]  # COCOeval's envelope
    ap = np.full(len(counts), np.nan)
    for r in range(len(counts)):
        if n_persons[r] == 0:
            continue
        at = np.searchsorted(recall[r], RECALL_THRESHOLDS, side="left")
        reached = at < recall.shape[1]
        ap[r] = precision[r, at[reached]].sum() / len(RECALL_THRESHOLDS)
    return ap


def bootstrap_map50(replicates: Sequence[ImageOutcomes], counts: np.ndarray) -> np.ndarray:
    """AP@0.5 averaged over the replicates, per resample (the same resampled images for every replicate)."""
    return np.mean([average_precision(outcomes, counts) for outcomes in replicates], axis=0)
