"""Table 2 row provenance: the training set label and the configuration hash."""

from __future__ import annotations

from cg2real.detector.score import config_hash, training_set_label

SELECTION = {"sources": [{"prefix": "real_", "count": 500}, {"prefix": "cg_", "count": 1017}]}


def test_training_set_label_names_the_cg_origin():
    translated = {"condition": {"real": 500, "cg": {"source": "cyclegan", "run": "gpus4", "count": 1017}}}
    assert training_set_label(translated, SELECTION) == "real 500 + CG 1017 (cyclegan gpus4)"
    raw = {"condition": {"real": 500, "cg": {"source": "raw", "count": 1017}}}
    assert training_set_label(raw, SELECTION) == "real 500 + CG 1017 (raw)"
    assert training_set_label({"condition": {"real": 500}}, {"sources": SELECTION["sources"][:1]}) == "real 500"


def test_config_hash_ignores_key_order_but_not_values():
    assert config_hash({"a": 1, "b": {"c": 2}}) == config_hash({"b": {"c": 2}, "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
