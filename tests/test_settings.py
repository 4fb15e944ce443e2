import pytest

from cg2real.data.crop import CropSettings
from cg2real.data.synthia import SynthiaLabelSettings
from cg2real.errors import DataError
from cg2real.settings import settings_from_json, settings_from_mapping

CROP = {"size": 64, "max_person_fraction": 1, "pad_mode": "reflect", "pad_value": 0}


def test_builds_and_coerces():
    crop = settings_from_mapping(CropSettings, CROP, "data.crop")
    assert crop.max_person_fraction == 1.0 and isinstance(crop.max_person_fraction, float)
    labels = settings_from_mapping(SynthiaLabelSettings, {"person_classes": [10, 11], "min_component_pixels": 3}, "s")
    assert labels.person_classes == (10, 11)


@pytest.mark.parametrize(
    "values, message",
    [
        ({**CROP, "sise": 1}, r"unknown key 'data.crop.sise' \(did you mean 'size'\?\)"),
        ({k: v for k, v in CROP.items() if k != "size"}, "missing key.*size"),
        ({**CROP, "size": "64"}, "data.crop.size must be of type int"),
        ({**CROP, "size": True}, "data.crop.size must be of type int"),
    ],
)
def test_rejects_bad_sections(values, message):
    with pytest.raises(DataError, match=message):
        settings_from_mapping(CropSettings, values, "data.crop")


def test_rejects_bad_json():
    with pytest.raises(DataError, match="not valid JSON"):
        settings_from_json(CropSettings, "{size: 1}", "data.crop")
