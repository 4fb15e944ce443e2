import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cg2real.__main__ import main
from cg2real.cyclegan.networks import define_generator
from cg2real.errors import DataError
from cg2real.translate.translate import load_generator, pad_to_multiple, translate_detector_set

CPU = torch.device("cpu")


@pytest.fixture
def run(tmp_path):
    """A saved tiny generator with its model card."""
    torch.manual_seed(0)
    generator = define_generator("resnet_6blocks", 4)
    torch.save(generator.state_dict(), tmp_path / "G.pt")
    (tmp_path / "model.json").write_text(json.dumps({"generator": "resnet_6blocks", "ngf": 4}))
    return tmp_path / "G.pt", tmp_path / "model.json"


@pytest.fixture
def cg_set(tmp_path):
    source = tmp_path / "cg"
    (source / "images").mkdir(parents=True)
    (source / "labels").mkdir()
    sizes = {"a": (30, 41), "b": (30, 41), "c": (37, 50)}  # odd sizes, two shapes
    for name, (h, w) in sizes.items():
        image = np.random.default_rng(ord(name)).integers(0, 256, (h, w, 3), dtype=np.uint8)
        cv2.imwrite(str(source / "images" / f"{name}.png"), image)
        (source / "labels" / f"{name}.txt").write_text(f"0 0.5 0.5 0.2 0.{ord(name) % 10}\n")
    return source, sizes


def test_padding_round_trip_for_odd_sizes():
    batch = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7)
    padded = pad_to_multiple(batch)
    assert padded.shape[-2:] == (8, 8)
    assert torch.equal(padded[..., :5, :7], batch)
    assert pad_to_multiple(padded) is padded  # already a multiple of 4: untouched


def test_translation_keeps_names_sizes_and_labels(tmp_path, run, cg_set):
    source, sizes = cg_set
    generator = load_generator(*run, CPU)
    out = tmp_path / "translated"
    assert translate_detector_set(generator, source, out, batch_size=4, device=CPU) == 3
    for name, (h, w) in sizes.items():
        image = cv2.imread(str(out / "images" / f"{name}.png"))
        assert image.shape == (h, w, 3)
        assert not np.array_equal(image, cv2.imread(str(source / "images" / f"{name}.png")))
        assert (out / "labels" / f"{name}.txt").read_text() == (source / "labels" / f"{name}.txt").read_text()
    assert "names" in (out / "data.yaml").read_text()


def test_batching_does_not_change_the_result(tmp_path, run, cg_set):
    source, _ = cg_set
    generator = load_generator(*run, CPU)
    translate_detector_set(generator, source, tmp_path / "one", batch_size=1, device=CPU)
    translate_detector_set(generator, source, tmp_path / "many", batch_size=4, device=CPU)
    for name in ("a", "b", "c"):
        one = cv2.imread(str(tmp_path / "one/images" / f"{name}.png")).astype(int)
        many = cv2.imread(str(tmp_path / "many/images" / f"{name}.png")).astype(int)
        assert np.abs(one - many).max() <= 1  # instance norm is per image: batching only moves rounding


def test_wrong_checkpoint_shape_and_missing_files(tmp_path, run):
    weights, card = run
    card.write_text(json.dumps({"generator": "resnet_6blocks", "ngf": 8}))
    with pytest.raises(DataError, match="does not fit a resnet_6blocks generator with ngf 8"):
        load_generator(weights, card, CPU)
    with pytest.raises(DataError, match="generator file not found"):
        load_generator(tmp_path / "nope.pt", card, CPU)


def test_unreadable_frame_is_a_clear_error(tmp_path, run, cg_set):
    source, _ = cg_set
    (source / "images" / "b.png").write_bytes(b"broken")
    with pytest.raises(DataError, match="cannot read image .*b.png"):
        translate_detector_set(load_generator(*run, CPU), source, tmp_path / "out", 4, CPU)


SETTINGS = json.dumps({"device": "cpu", "batch_size": 2})


def translate_cli(generator: Path, *args: str) -> int:
    return main(["translate", "--generator", str(generator), "--settings", SETTINGS, *args])


def test_a_plain_folder_of_images_is_translated_under_the_same_names(tmp_path, run):
    """As the reference CycleGAN's test script: no labels, no YOLO layout; the model card beside the generator."""
    frames = tmp_path / "frames"
    frames.mkdir()
    sizes = {"a.jpg": (30, 41), "b.png": (37, 50), "c.JPEG": (30, 41)}
    for name, (h, w) in sizes.items():
        image = np.random.default_rng(len(name) + h).integers(0, 256, (h, w, 3), dtype=np.uint8)
        cv2.imwrite(str(frames / name), image, [cv2.IMWRITE_JPEG_QUALITY, 95] if "jp" in name.lower() else [])
    (frames / "notes.txt").write_text("not an image")
    out = tmp_path / "translated"

    assert translate_cli(run[0], "--input-dir", str(frames), "--output-dir", str(out)) == 0

    assert sorted(p.name for p in out.iterdir()) == sorted(sizes)
    for name, (h, w) in sizes.items():
        assert cv2.imread(str(out / name)).shape == (h, w, 3)
        assert not np.array_equal(cv2.imread(str(out / name)), cv2.imread(str(frames / name)))
    assert cv2.imread(str(out / "b.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint8  # PNG stays PNG


def test_translating_a_folder_into_itself_is_refused(tmp_path, run, caplog):
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "a.png"), np.zeros((8, 8, 3), np.uint8))
    assert translate_cli(run[0], "--input-dir", str(frames), "--out", str(frames)) == 2
    assert "the output folder is the input folder" in caplog.text
    assert translate_cli(run[0], "--input-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "o")) == 2
    assert "no images in" in caplog.text


def test_the_workflows_yolo_mode_through_the_command_line(tmp_path, run, cg_set):
    source, sizes = cg_set
    weights, card = run
    out = tmp_path / "yolo"
    assert translate_cli(weights, "--model-card", str(card), "--source", str(source), "--out", str(out)) == 0
    assert sorted(p.name for p in (out / "images").iterdir()) == [f"{name}.png" for name in sizes]
    assert sorted(p.name for p in (out / "labels").iterdir()) == [f"{name}.txt" for name in sizes]


def test_one_input_mode_at_a_time(tmp_path, run, cg_set, capsys):
    with pytest.raises(SystemExit):
        translate_cli(run[0], "--source", str(cg_set[0]), "--input-dir", str(tmp_path), "--out", str(tmp_path / "o"))
    assert "not allowed with argument" in capsys.readouterr().err
