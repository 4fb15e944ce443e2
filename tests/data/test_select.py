from pathlib import Path

import pytest

from cg2real.boxes import Box, Frame, Person
from cg2real.data.select import FilterSettings, check_something_kept, decide, image_size
from cg2real.errors import DataError
from tests.conftest import write_jpeg

SETTINGS = FilterSettings(
    min_height_fraction=0.2, min_area_fraction=0.01, exclude_occluded=False, exclude_truncated=False, box_tolerance_px=2
)
SIZE = (200, 100)


def frame(*persons: Person, problem=None) -> Frame:
    return Frame("f.jpg", Path("f.jpg"), persons=persons, problem=problem)


def test_largest_person_decides():
    small, big = Person(Box(0, 0, 5, 10)), Person(Box(50, 10, 70, 60))
    row = decide(frame(small, big), SIZE, SETTINGS)
    assert row.kept and row.reason == "kept" and row.largest == big.box
    assert row.persons == (small.box, big.box)


@pytest.mark.parametrize(
    "persons, reason",
    [
        ((), "no_person"),
        ((Person(Box(0, 0, 30, 19)),), "person_too_small"),  # height 19 < 0.2 * 100
        ((Person(Box(0, 0, 5, 30)),), "person_too_small"),  # area 150 < 0.01 * 20000
        ((Person(Box(10, 10, 5, 50)),), "malformed_box"),  # x2 < x1
        ((Person(Box(150, 10, 260, 90)),), "box_outside_image"),
    ],
)
def test_drop_reasons(persons, reason):
    row = decide(frame(*persons), SIZE, SETTINGS)
    assert not row.kept and row.reason == reason


def test_box_overhanging_by_tolerance_is_clipped():
    row = decide(frame(Person(Box(-1, 0, 201, 100))), SIZE, SETTINGS)
    assert row.kept and row.largest == Box(0, 0, 200, 100)


def test_occlusion_filter_picks_largest_visible_person():
    occluded = Person(Box(0, 0, 50, 90), occluded=True)
    visible = Person(Box(100, 0, 120, 40), occluded=False)
    strict = FilterSettings(**{**SETTINGS.__dict__, "exclude_occluded": True})
    assert decide(frame(occluded, visible), SIZE, strict).largest == visible.box
    assert decide(frame(occluded), SIZE, strict).reason == "no_visible_person"


def test_file_problems_make_frames_unusable():
    assert decide(frame(problem="malformed_labels"), SIZE, SETTINGS).reason == "malformed_labels"
    row = decide(frame(Person(Box(0, 0, 50, 90))), "unreadable_image", SETTINGS)
    assert not row.usable and row.reason == "unreadable_image"


def test_image_size_detects_missing_corrupt_and_truncated(tmp_path):
    good = write_jpeg(tmp_path / "good.jpg", 64, 48)
    assert image_size(good) == (64, 48)
    assert image_size(tmp_path / "missing.jpg") == "missing_image"
    (tmp_path / "garbage.jpg").write_bytes(b"not an image")
    assert image_size(tmp_path / "garbage.jpg") == "unreadable_image"
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert image_size(truncated) == "unreadable_image"


def test_zero_kept_frames_is_an_error_with_counts():
    rows = [decide(frame(), SIZE, SETTINGS), decide(frame(Person(Box(0, 0, 2, 2))), SIZE, SETTINGS)]
    with pytest.raises(DataError, match=r"kept 0 of 2 frames \((no_person: 1, person_too_small: 1|person_too_small: 1, no_person: 1)\)"):
        check_something_kept(rows, "test")
