"""Inception Score (Salimans et al. 2016; the metric of paper 002) of a run's translated CG crops.

IS = exp(E_x KL(p(y|x) || p(y))), with p(y) the mean prediction over the images, computed on each
of `splits` consecutive parts of the set and reported as the mean and standard deviation over the
parts (the usual protocol, 10 splits). Higher is better: confident predictions per image, spread
over many classes. (Paper 002's text says a smaller IS is better; the definition used there, and
here, rewards the opposite.) It is bounded by the number of classes, 1008 for this network.

p(y|x) is the softmax of the FID Inception network's 1008-way `fc` head (the network IS was
defined with), read from the same local weights file as FID, never downloaded. ImageNet classes
say little about person crops, so an IS here compares runs with each other, beside FID; it is not
a quality scale of its own.

JSON written per run: is_mean, is_std (null when not computed), status ("computed" or "not
computed: Inception weights missing at <path>"), images, splits, generator.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from cg2real.cyclegan.run import RunPaths
from cg2real.errors import DataError
from cg2real.images import require_images
from cg2real.metrics.fid_curve import COMPUTED, translated_crops
from cg2real.metrics.inception import load_inception_classifier, missing_weights_message, same_size_batches
from cg2real.translate.translate import load_generator

log = logging.getLogger(__name__)


def inception_score(probabilities: np.ndarray, splits: int) -> tuple[float, float]:
    """Mean and standard deviation over `splits` parts of exp(mean KL(p(y|x) || p(y))).

    `probabilities` is (images, classes), each row a distribution; zero entries contribute 0
    (the limit of p log p), so one-hot rows are fine.
    """
    if probabilities.ndim != 2 or len(probabilities) < splits or splits < 1:
        raise ValueError(f"need an (images, classes) matrix with at least `splits` ({splits}) rows, "
                         f"got shape {probabilities.shape}")
    if (probabilities < 0).any() or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("every row must be a probability distribution (non-negative, summing to 1)")
    scores = []
    for part in np.array_split(probabilities.astype(np.float64), splits):
        marginal = part.mean(axis=0, keepdims=True)
        positive = part > 0  # where p(y|x) > 0, p(y) > 0 too
        ratio = np.where(positive, part, 1.0) / np.where(positive, marginal, 1.0)
        kl = np.sum(part * np.log(ratio), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


@torch.no_grad()
def class_probabilities(
    model: torch.nn.Module, images: Iterable[np.ndarray], batch_size: int, device: torch.device,
    total: int | None = None,
) -> np.ndarray:
    """(N, 1008) float64 softmax of the Inception classifier for RGB uint8 HxWx3 images."""
    rows = []
    with tqdm(desc="inception classes", total=total, unit="img", mininterval=5) as bar:
        for batch in same_size_batches(images, batch_size):
            tensor = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).to(device).float().div(255)
            rows.append(torch.softmax(model(tensor).double(), dim=1).cpu().numpy())
            bar.update(len(batch))
    if not rows:
        raise DataError("no images to compute the Inception Score of")
    return np.concatenate(rows)


def usable_splits(images: int, splits: int) -> int:
    """`splits`, or fewer so that every part holds at least 2 images (a part of 1 always scores 1)."""
    if images < 2:
        raise DataError(f"the Inception Score needs at least 2 images, got {images}")
    return min(splits, images // 2)


def write_inception_score(
    run_dir: Path, cg_crops: Path, weights: Path, out: Path, batch_size: int, device: torch.device,
    splits: int = 10, require_weights: bool = False,
) -> dict:
    """IS of the CG crops translated by the run's final generator, as JSON at `out` (and returned).

    Without the weights file: a DataError naming it when `require_weights`, else a JSON whose
    numbers are null and whose status says why (so a demo without the file still completes).
    """
    paths = RunPaths(run_dir)
    files = require_images(cg_crops, "PNG/JPG images")
    used = usable_splits(len(files), splits)
    if used < splits:
        log.warning("%d CG crops: IS over %d splits instead of %d", len(files), used, splits)
    result = {"is_mean": None, "is_std": None, "status": COMPUTED, "images": len(files), "splits": used,
              "generator": paths.generator_cg2real.name}
    if weights.is_file() or require_weights:
        classifier = load_inception_classifier(weights, device)
        generator = load_generator(paths.generator_cg2real, paths.model_card, device)
        probabilities = class_probabilities(classifier, translated_crops(generator, files, batch_size, device),
                                            batch_size, device, len(files))
        result["is_mean"], result["is_std"] = inception_score(probabilities, used)
        log.info("%s: IS %.3f +- %.3f over %d splits", paths.generator_cg2real, result["is_mean"],
                 result["is_std"], used)
    else:
        log.warning("%s; %s marks IS as not computed", missing_weights_message(weights, "the Inception Score"), out)
        result["status"] = f"not computed: Inception weights missing at {weights}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result
