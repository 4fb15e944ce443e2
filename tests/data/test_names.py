from pathlib import Path

import pytest

from cg2real.boxes import Box, Frame, Person
from cg2real.data.names import DUPLICATE, UNSAFE_NAME, drop_unsafe_and_duplicate_names, unsafe_name_problem


@pytest.mark.parametrize("name", ["b1c66a42-6f7d68ca.jpg", "Stereo_Left/Omni_F/000000.png", "a b.jpg"])
def test_plain_names_and_sub_folders_are_safe(name):
    assert unsafe_name_problem(name) is None


@pytest.mark.parametrize("name", ["../val/x.jpg", "/data/x.jpg", "a/../../x.jpg", "C:/x.jpg", "a\\b.jpg", "./x.jpg",
                                  "a//b.jpg", "", " x.jpg", "x\n.jpg"])
def test_names_that_leave_their_folder_are_unsafe(name):
    assert unsafe_name_problem(name) is not None


def frame(name: str, n: int = 1) -> Frame:
    return Frame(name=name, image_path=Path("images") / name, persons=(Person(Box(0, 0, 10, 20)),) * n)


def test_repeats_and_unsafe_names_are_dropped_with_where_and_why():
    frames = [frame("a.jpg", 2), frame("../val/b.jpg"), frame("a.jpg"), frame("c.jpg"),
              Frame(name="d.jpg", image_path=Path("d.jpg"), problem="malformed_label")]
    checked = drop_unsafe_and_duplicate_names(frames, "labels.json")
    assert [f.problem for f in checked] == [None, UNSAFE_NAME, DUPLICATE, None, "malformed_label"]
    assert len(checked[0].persons) == 2  # the first of a repeated name keeps its boxes
    assert checked[1].persons == () and checked[2].persons == ()
    assert checked[2].detail == "labels.json frame 2: name 'a.jpg' already given by frame 0"
    assert checked[1].detail.startswith("labels.json frame 1: name '../val/b.jpg' is ")
