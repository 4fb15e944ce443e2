"""Shared test helpers: paths to the genuine fixture files and small image writers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def write_jpeg(path: Path, width: int, height: int, value: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((height, width, 3), value, np.uint8)
    image[::7] = 255 - value  # some structure, so the JPEG is not trivially small
    assert cv2.imwrite(str(path), image)
    return path
