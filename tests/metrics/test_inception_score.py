"""Inception Score: the formula on hand-made predictions, the classifier from the local weights
file, the run's JSON (computed and not computed) and the `inception-score` command.

Inception runs on stand-in random weights (the real file cannot be fetched here), so computed
scores check the plumbing, not values comparable with published ones.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from cg2real.__main__ import main
from cg2real.errors import DataError
from cg2real.images import read_rgb
from cg2real.metrics.inception import WEIGHTS_FILE, load_inception_classifier
from cg2real.metrics.inception_score import class_probabilities, inception_score, usable_splits, write_inception_score
from cg2real.translate.translate import load_generator, translate_images
from tests.metrics.test_fid_curve import crops, run  # noqa: F401  (fixtures)
from tests.metrics.test_inception import images, write_fake_fid_weights

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def fake_weights(tmp_path_factory):
    return write_fake_fid_weights(tmp_path_factory.mktemp("is") / WEIGHTS_FILE)


def test_uniform_predictions_score_one():
    mean, std = inception_score(np.full((20, 1008), 1 / 1008), splits=4)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("classes", [1, 2, 7])
def test_one_hot_predictions_over_k_distinct_classes_score_k(classes):
    one_hot = np.eye(10)[np.tile(np.arange(classes), 3)]  # each of 3 splits holds every class once
    mean, std = inception_score(one_hot, splits=3)
    assert mean == pytest.approx(classes) and std == pytest.approx(0.0, abs=1e-12)


def test_score_is_exp_of_the_mean_kl_and_std_is_over_splits():
    confident = np.array([[0.9, 0.1], [0.1, 0.9]])
    marginal = confident.mean(axis=0)
    kl = np.sum(confident * np.log(confident / marginal), axis=1)
    mean, _ = inception_score(confident, splits=1)
    assert mean == pytest.approx(math.exp(kl.mean()))
    # one split of two classes (IS 2), one of a single class (IS 1): mean 1.5, std 0.5
    assert inception_score(np.eye(3)[[0, 1, 2, 2]], splits=2) == pytest.approx((1.5, 0.5))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="probability distribution"):
        inception_score(np.array([[0.5, 0.6], [1.0, 0.0]]), splits=1)
    with pytest.raises(ValueError, match="at least `splits`"):
        inception_score(np.eye(3), splits=4)
    assert usable_splits(25, 10) == 10 and usable_splits(7, 10) == 3
    with pytest.raises(DataError, match="at least 2 images"):
        usable_splits(1, 10)


def test_classifier_gives_1008_way_distributions(fake_weights):
    model = load_inception_classifier(fake_weights, CPU)
    assert not model.training
    stored = torch.load(fake_weights, weights_only=True)
    assert torch.equal(model.network.fc.weight, stored["fc.weight"])  # the file's own classifier head
    probabilities = class_probabilities(model, images(1, 3), batch_size=2, device=CPU)
    assert probabilities.shape == (3, 1008) and probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    assert not np.allclose(probabilities[0], probabilities[1])  # different images, different predictions


def test_missing_classifier_weights_name_the_file(tmp_path):
    missing = tmp_path / WEIGHTS_FILE
    with pytest.raises(DataError, match=f"the Inception Score needs the pytorch-fid .* not found at {missing}"):
        load_inception_classifier(missing, CPU)


def test_run_score_computed_with_weights_not_computed_without(tmp_path, run, crops, fake_weights):  # noqa: F811
    _, cg = crops
    out = tmp_path / "is/run.json"
    result = write_inception_score(run, cg, fake_weights, out, batch_size=2, device=CPU, splits=10,
                                   require_weights=True)
    assert json.loads(out.read_text()) == result
    assert result["status"] == "computed" and result["images"] == 3 and result["splits"] == 1  # 3 crops: 1 split
    assert result["generator"] == "G_cg2real.pt"
    # the same score from the crops translated here, one by one: the JSON scores the translations
    generator = load_generator(run / "G_cg2real.pt", run / "model.json", CPU)
    originals = [read_rgb(path) for path in sorted(cg.glob("*.png"))]
    translated = [translate_images(generator, [image], CPU)[0] for image in originals]
    classifier = load_inception_classifier(fake_weights, CPU)
    expected, _ = inception_score(class_probabilities(classifier, translated, 2, CPU), splits=1)
    untranslated, _ = inception_score(class_probabilities(classifier, originals, 2, CPU), splits=1)
    assert result["is_mean"] == pytest.approx(expected, rel=1e-6) and result["is_std"] == 0.0
    assert untranslated != pytest.approx(expected, rel=1e-6)  # so scoring the raw crops would fail

    missing = tmp_path / "nowhere" / WEIGHTS_FILE
    result = write_inception_score(run, cg, missing, tmp_path / "missing.json", batch_size=2, device=CPU)
    assert result["is_mean"] is None and result["is_std"] is None
    assert result["status"] == f"not computed: Inception weights missing at {missing}"
    with pytest.raises(DataError, match=f"not found at {missing}"):
        write_inception_score(run, cg, missing, tmp_path / "required.json", batch_size=2, device=CPU,
                              require_weights=True)
    assert not (tmp_path / "required.json").exists()


def test_cli_exit_2_when_weights_are_required_else_json_not_computed(tmp_path, run, crops, caplog):  # noqa: F811
    _, cg = crops
    missing = tmp_path / "nowhere" / WEIGHTS_FILE
    settings = {"device": "cpu", "weights": str(missing), "batch_size": 16, "require_weights": True, "is_splits": 2}
    args = ["inception-score", "--run-dir", str(run), "--cg-crops", str(cg)]
    assert main([*args, "--settings", json.dumps(settings), "--out", str(tmp_path / "required.json")]) == 2
    assert f"not found at {missing}: place the file {WEIGHTS_FILE}" in caplog.text
    settings["require_weights"] = False
    assert main([*args, "--settings", json.dumps(settings), "--out", str(tmp_path / "report.json")]) == 0
    assert json.loads((tmp_path / "report.json").read_text())["status"] == (
        f"not computed: Inception weights missing at {missing}")
