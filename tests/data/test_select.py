from pathlib import Path

import pytest

from cg2real.boxes import Box, Frame, Person
from cg2real.data.select import (
    FilterSettings,
    check_something_kept,
    decide,
    height_fraction,
    keep_target_count,
    without_height_threshold,
)
from cg2real.errors import DataError

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


def test_zero_kept_frames_is_an_error_with_counts():
    rows = [decide(frame(), SIZE, SETTINGS), decide(frame(Person(Box(0, 0, 2, 2))), SIZE, SETTINGS)]
    with pytest.raises(DataError, match=r"kept 0 of 2 frames \((no_person: 1, person_too_small: 1|person_too_small: 1, no_person: 1)\)"):
        check_something_kept(rows, "test")


def tall(name: str, height: float, width: float = 10.0) -> Frame:
    """A frame whose one person is `height` px tall (of 100) and `width` px wide."""
    return Frame(name, Path(name), persons=(Person(Box(0, 0, width, height)),))


def decided_without_height(*frames: Frame, settings: FilterSettings = SETTINGS):
    return [decide(f, SIZE, without_height_threshold(settings)) for f in frames]


def test_target_count_keeps_the_tallest_and_reports_the_threshold():
    heights = [15, 80, 40, 65, 25, 90]
    rows = decided_without_height(*(tall(f"f{h}", h) for h in heights), frame())
    kept, threshold = keep_target_count(rows, 3)
    assert threshold == 0.65  # the third tallest, of a frame 100 px high
    assert [r.name for r in kept if r.kept] == ["f80", "f65", "f90"]
    dropped = {r.name: r for r in kept if r.reason == "person_too_small"}
    assert set(dropped) == {"f15", "f40", "f25"}
    assert "0.4000 of the frame height, below 0.6500 (the threshold that keeps 3 frames)" in dropped["f40"].detail
    assert kept[-1].reason == "no_person"  # other decisions are left as they were
    assert min(height_fraction(r) for r in kept if r.kept) == threshold


def test_target_count_still_applies_the_other_criteria():
    # area 2 x 90 = 180 < 0.01 x 20000: too thin however tall, so never a candidate
    rows = decided_without_height(tall("thin", 90, width=2), tall("a", 30), tall("b", 50))
    kept, threshold = keep_target_count(rows, 1)
    assert [r.name for r in kept if r.kept] == ["b"] and threshold == 0.5


def test_target_count_keeps_every_frame_tied_at_the_threshold():
    rows = decided_without_height(tall("a", 50), tall("b", 50), tall("c", 60), tall("d", 20))
    kept, threshold = keep_target_count(rows, 2)
    assert threshold == 0.5 and [r.name for r in kept if r.kept] == ["a", "b", "c"]


def test_target_count_above_the_candidates_keeps_them_all():
    rows = decided_without_height(tall("a", 10, width=30), tall("b", 50), frame())
    kept, threshold = keep_target_count(rows, 10)
    assert [r.name for r in kept if r.kept] == ["a", "b"] and threshold == 0.1
    assert keep_target_count(decided_without_height(frame()), 5) == (decided_without_height(frame()), 0.0)


def test_without_height_threshold_changes_nothing_else():
    relaxed = without_height_threshold(SETTINGS)
    assert relaxed.min_height_fraction == 0.0
    assert {**relaxed.__dict__, "min_height_fraction": SETTINGS.min_height_fraction} == SETTINGS.__dict__
