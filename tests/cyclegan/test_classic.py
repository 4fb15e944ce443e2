"""Paper 002's classic policies on known pixels, their 1:1 mix, and their place in the crop jitter."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cg2real.cyclegan.classic import apply_classic, classic_augment
from cg2real.cyclegan.data import JitterSettings, UnpairedCrops
from cg2real.errors import DataError

IMAGE = np.array([[[0, 10, 20], [30, 40, 50]],
                  [[60, 70, 80], [90, 100, 200]]], dtype=np.uint8)  # 2x2 RGB, mean 62.5


def test_flips_and_negative_give_the_expected_pixels():
    np.testing.assert_array_equal(apply_classic(IMAGE, "hflip", 1.0), IMAGE[:, [1, 0]])
    np.testing.assert_array_equal(apply_classic(IMAGE, "vflip", 1.0), IMAGE[[1, 0]])
    np.testing.assert_array_equal(apply_classic(IMAGE, "negative", 1.0)[1, 1], [165, 155, 55])
    assert apply_classic(IMAGE, "negative", 1.0).dtype == np.uint8


def test_contrast_scales_about_the_mean_and_clips():
    out = apply_classic(IMAGE, "contrast", 2.0)  # (v - 62.5) * 2 + 62.5 = 2v - 62.5, rounded half to even
    np.testing.assert_array_equal(out[0, 0], [0, 0, 0])  # -62.5, -42.5, -22.5 clipped
    np.testing.assert_array_equal(out[1, 0], [58, 78, 98])  # 57.5 -> 58, 77.5 -> 78, 97.5 -> 98
    np.testing.assert_array_equal(out[1, 1], [118, 138, 255])  # 117.5, 137.5, 337.5 clipped
    np.testing.assert_array_equal(apply_classic(IMAGE, "contrast", 1.0), IMAGE)
    with pytest.raises(DataError, match="unknown classic augmentation 'rotate'"):
        apply_classic(IMAGE, "rotate", 1.0)


def test_no_policy_returns_the_crop_and_draws_nothing():
    rng = np.random.default_rng(0)
    assert classic_augment(IMAGE, (), 1.5, rng) is IMAGE
    assert rng.random() == np.random.default_rng(0).random()


def test_half_the_crops_are_augmented_split_between_the_policies():
    rng = np.random.default_rng(0)
    outcomes = []
    for _ in range(400):
        out = classic_augment(IMAGE, ("vflip", "negative"), 1.5, rng)
        outcomes.append("none" if out is IMAGE else "vflip" if np.array_equal(out, IMAGE[::-1]) else "negative")
    counts = {name: outcomes.count(name) for name in ("none", "vflip", "negative")}
    assert 160 < counts["none"] < 240 and counts["vflip"] > 60 and counts["negative"] > 60


def test_crop_dataset_applies_the_policy_after_the_reference_jitter(tmp_path: Path):
    files = []
    for i in range(3):
        path = tmp_path / f"{i}.png"
        cv2.imwrite(str(path), np.random.default_rng(i).integers(0, 256, (12, 12, 3), dtype=np.uint8))
        files.append(path)
    reference = UnpairedCrops(files, files, list(range(8)), JitterSettings(12, 8, True), (0, 0, 0))
    negated = UnpairedCrops(files, files, list(range(8)),
                            JitterSettings(12, 8, True, ("negative",), 1.5), (0, 0, 0))
    kinds = set()
    for position in range(8):
        (a_ref, _), (a_neg, _) = reference[position], negated[position]
        same, inverted = torch.equal(a_neg, a_ref), torch.allclose(a_neg, -a_ref, atol=1e-6)  # 255 - v in [-1, 1]
        assert same or inverted
        kinds.add("same" if same else "inverted")
    assert kinds == {"same", "inverted"}
