"""A compact generator survives save/load, directly and through the translator's `load_generator`."""

from __future__ import annotations

import json

import pytest
import torch

from cg2real.compact.generator import (
    CompactGenerator,
    load_compact_generator,
    model_card,
    save_compact_generator,
)
from cg2real.compact.prune import channels_to_keep, prune
from cg2real.cyclegan.networks import define_generator
from cg2real.errors import DataError
from cg2real.translate.translate import load_generator

CPU = torch.device("cpu")


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    full = CompactGenerator.from_resnet(define_generator("resnet_6blocks", 4))
    with torch.no_grad():
        for scale in full.scale_parameters():
            scale.uniform_(0.0, 1.0)
    small = prune(full, channels_to_keep(full, threshold=0.5, max_fraction=0.4)).eval()
    card = model_card(small, "resnet_6blocks", 4)
    save_compact_generator(small, card, tmp_path / "c" / "G.pt", tmp_path / "c" / "model.json")
    return small, tmp_path / "c" / "G.pt", tmp_path / "c" / "model.json"


def test_round_trip(saved):
    small, weights, card = saved
    loaded = load_compact_generator(weights, card, CPU)
    assert loaded.widths == small.widths and loaded.widths != CompactGenerator.from_resnet(
        define_generator("resnet_6blocks", 4)).widths
    x = torch.rand(1, 3, 24, 28)
    with torch.no_grad():
        assert torch.equal(loaded(x), small(x))
    assert not loaded.training


def test_load_generator_delegates_on_a_compact_card(saved):
    small, weights, card = saved
    loaded = load_generator(weights, card, CPU)
    assert isinstance(loaded, CompactGenerator)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded(x), small(x))


def test_card_lists_the_widths(saved):
    small, _, card = saved
    values = json.loads(card.read_text())
    assert values["compact"] == small.widths and values["generator"] == "resnet_6blocks" and values["ngf"] == 4


def test_weights_of_other_widths_are_a_clear_error(saved, tmp_path):
    small, weights, card = saved
    wider = json.loads(card.read_text())
    wider["compact"] = {**wider["compact"], "trunk": wider["compact"]["trunk"] + 1}
    (tmp_path / "wider.json").write_text(json.dumps(wider))
    with pytest.raises(DataError, match="does not fit the compact widths"):
        load_generator(weights, tmp_path / "wider.json", CPU)


def test_block_count_must_match_the_generator_name(saved, tmp_path):
    _, weights, card = saved
    (tmp_path / "nine.json").write_text(json.dumps({**json.loads(card.read_text()), "generator": "resnet_9blocks"}))
    with pytest.raises(DataError, match="6 blocks"):
        load_compact_generator(weights, tmp_path / "nine.json", CPU)


def test_missing_file_is_named(tmp_path, saved):
    _, weights, _ = saved
    with pytest.raises(DataError, match="not found.*absent.json"):
        load_compact_generator(weights, tmp_path / "absent.json", CPU)
