import math
from pathlib import Path

import numpy as np
import pytest

from cg2real.boxes import Box, Frame, Person, iou_matrix


def test_geometry():
    box = Box(10, 20, 40, 80)
    assert (box.width, box.height, box.area, box.center) == (30, 60, 1800, (25, 50))


@pytest.mark.parametrize(
    "box, ok",
    [(Box(0, 0, 1, 1), True), (Box(5, 0, 4, 1), False), (Box(0, 3, 1, 3), False), (Box(0, 0, math.nan, 1), False)],
)
def test_well_formed(box, ok):
    assert box.is_well_formed() is ok


def test_fits_in_with_tolerance_and_clip():
    box = Box(-1.5, 0, 1281, 720)
    assert box.fits_in(1280, 720, tolerance=2)
    assert not box.fits_in(1280, 720, tolerance=0.5)
    assert box.clipped(1280, 720) == Box(0, 0, 1280, 720)


def test_iou_known_values():
    a = Box(0, 0, 10, 10)
    assert a.iou(a) == 1.0
    assert a.iou(Box(20, 20, 30, 30)) == 0.0
    assert a.iou(Box(5, 0, 15, 10)) == pytest.approx(50 / 150)


def test_largest_person_by_area():
    small, big = Person(Box(0, 0, 10, 50)), Person(Box(0, 0, 30, 30))
    frame = Frame("f", Path("f.jpg"), persons=(small, big))
    assert frame.largest_person() is big
    assert Frame("e", Path("e.jpg")).largest_person() is None


def test_iou_matrix_hand_cases_agree_with_box_iou():
    a = [Box(0, 0, 10, 10)]
    b = [Box(0, 0, 10, 10), Box(20, 20, 30, 30), Box(5, 0, 15, 10), Box(2, 2, 7, 7), Box(3, 3, 3, 8)]
    got = iou_matrix(np.array([[0, 0, 10, 10]]), np.array([[x.x1, x.y1, x.x2, x.y2] for x in b]))
    assert got.shape == (1, 5)
    assert got[0] == pytest.approx([1.0, 0.0, 50 / 150, 25 / 100, 0.0])
    assert got[0] == pytest.approx([a[0].iou(x) for x in b])
    assert iou_matrix(np.zeros((0, 4)), np.array([[0, 0, 1, 1]])).shape == (0, 1)
