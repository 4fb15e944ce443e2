"""Synthetic demo data: a BDD100K-like photo set and a SYNTHIA-RAND-CVPR16-like CG set.

Both sets come from one random street-layout generator (sky, buildings, road, trees, poles, signs,
cars, persons), rasterised back to front into an RGB canvas, a class map and an instance map at
once, so every box is computed from the pixels that are actually visible. Only the finish differs:
the photo style adds texture, lighting, colour cast, muted colours, vignette, blur, sensor noise and
JPEG artefacts; the CG style stays flat, saturated, noise-free and hard-edged. That gap in look is
what the image-translation model has to learn, while the content stays comparable.

Every frame draws from its own `numpy.random.default_rng([seed, set, index])`, so the output is
byte-identical for the same settings whatever order the frames are made in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

SKY, BUILDING, ROAD, SIDEWALK, FENCE, VEGETATION, POLE, CAR, SIGN, PEDESTRIAN = range(1, 11)
# SYNTHIA-RAND colour code (RGB), indexed by class id 0..11 (11 cyclist is never drawn here).
CLASS_COLOURS = np.array(
    [(0, 0, 0), (128, 128, 128), (128, 0, 0), (128, 64, 128), (0, 0, 192), (64, 64, 128),
     (128, 128, 0), (192, 192, 128), (64, 0, 128), (192, 128, 128), (64, 64, 0), (0, 128, 192)],
    dtype=np.uint8,
)
# How strongly the photo finish textures each class (relative brightness modulation).
TEXTURE_STRENGTH = np.array([0, 0.03, 0.22, 0.16, 0.14, 0.1, 0.3, 0.06, 0.05, 0.04, 0.07, 0.07], np.float32)
REAL_TRAIN, REAL_VAL, CG = 0, 1, 2
MIN_VISIBLE_PIXELS = 30  # above the SYNTHIA reader's default min_component_pixels (20)
MAX_LAYOUT_ATTEMPTS = 20
WEATHER = (("clear", 0.5), ("overcast", 0.2), ("partly cloudy", 0.15), ("rainy", 0.15))
SCENE = (("city street", 0.6), ("residential", 0.25), ("highway", 0.15))
TIME_OF_DAY = (("daytime", 0.55), ("night", 0.3), ("dawn/dusk", 0.15))


@dataclass(frozen=True)
class DemoSettings:
    """Sizes and seed of the generated demo data sets (all from config.yaml)."""

    seed: int
    real_train_frames: int
    real_val_frames: int
    real_width: int
    real_height: int
    cg_frames: int
    cg_width: int
    cg_height: int
    no_person_fraction: float


@dataclass(frozen=True)
class Shape:
    """One flat-coloured primitive: a filled polygon, a thick polyline or a filled ellipse.

    `size` is (thickness,) for lines and (half width, half height) for ellipses, in pixels.
    """

    kind: str
    points: np.ndarray
    colour: tuple[float, float, float]
    size: tuple[float, ...] = ()


@dataclass(frozen=True)
class SceneObject:
    """Shapes of one class drawn together; `depth` is the ground-contact row (larger is nearer)."""

    class_id: int
    category: str | None
    depth: float
    shapes: tuple[Shape, ...]


@dataclass(frozen=True)
class ObjectLabel:
    """A labelled object as BDD100K would box it: tight around its visible pixels, end-exclusive."""

    instance_id: int
    category: str
    box: tuple[int, int, int, int]
    occluded: bool
    truncated: bool
    visible_parts: int


@dataclass(frozen=True)
class RenderedFrame:
    """One finished frame: RGB image, class ids, instance ids (object index + 1) and labels."""

    image: np.ndarray
    classes: np.ndarray
    instances: np.ndarray
    labels: tuple[ObjectLabel, ...]
    attributes: dict[str, str]

    @property
    def persons(self) -> list[ObjectLabel]:
        return [label for label in self.labels if label.category == "person"]


def _choice(rng: np.random.Generator, weighted: tuple[tuple[str, float], ...]) -> str:
    names, weights = zip(*weighted)
    return names[int(rng.choice(len(names), p=np.array(weights) / sum(weights)))]


def _jitter(rng: np.random.Generator, colour: tuple[float, float, float], amount: float = 18) -> tuple[float, ...]:
    """A colour near `colour`, so repeated objects do not look cloned."""
    return tuple(float(c) for c in np.clip(np.array(colour) + rng.uniform(-amount, amount, 3), 0, 255))


def _random_colour(rng: np.random.Generator, saturation: tuple[float, float], value: tuple[float, float]) -> tuple[float, ...]:
    """A random hue with saturation and brightness in the given ranges (clothing, car paint)."""
    hsv = np.uint8([[[rng.integers(0, 180), rng.uniform(*saturation) * 255, rng.uniform(*value) * 255]]])
    return tuple(float(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def _poly(points: list[tuple[float, float]], colour: tuple[float, ...]) -> Shape:
    return Shape("poly", np.array(points, np.float64), colour)


def _rect(x0: float, y0: float, x1: float, y1: float, colour: tuple[float, ...]) -> Shape:
    return _poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], colour)


def _ellipse(cx: float, cy: float, ax: float, ay: float, colour: tuple[float, ...]) -> Shape:
    return Shape("ellipse", np.array([(cx, cy)], np.float64), colour, (ax, ay))


def _line(points: list[tuple[float, float]], thickness: float, colour: tuple[float, ...]) -> Shape:
    return Shape("line", np.array(points, np.float64), colour, (thickness,))


def random_attributes(rng: np.random.Generator, style: str) -> dict[str, str]:
    """BDD100K frame attributes; CG frames are clear daylight renders of any scene type."""
    scene = _choice(rng, SCENE)
    if style == "cg":
        return {"weather": "clear", "scene": scene, "timeofday": "daytime"}
    weather, timeofday = _choice(rng, WEATHER), _choice(rng, TIME_OF_DAY)
    if timeofday == "dawn/dusk":
        timeofday = "dawn" if rng.random() < 0.5 else "dusk"
    return {"weather": weather, "scene": scene, "timeofday": timeofday}


class _Street:
    """Perspective of a flat street: horizon row, vanishing column and pixels per metre by row."""

    def __init__(self, rng: np.random.Generator, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.horizon = height * rng.uniform(0.36, 0.5)
        self.vanish_x = width * rng.uniform(0.35, 0.65)
        self.road_half = width * rng.uniform(0.45, 0.85)

    def depth_share(self, row: float) -> float:
        return (row - self.horizon) / (self.height - self.horizon)

    def metre(self, row: float) -> float:
        """Pixels per metre for an object standing on `row` (1.75 m is 0.63 frame heights at the bottom)."""
        return self.depth_share(row) * self.height * 0.36

    def road_edge(self, row: float, side: int) -> float:
        return self.vanish_x + side * self.road_half * self.depth_share(row)

    def random_row(self, rng: np.random.Generator, near: float, far: float = 0.06) -> float:
        return self.horizon + (self.height - self.horizon) * rng.uniform(far, near)


def background_objects(rng: np.random.Generator, street: _Street, attributes: dict[str, str]) -> list[SceneObject]:
    """Sky, facades with windows, ground, road and lane marks: everything behind the things."""
    w, h, hz = street.width, street.height, street.horizon
    sky = {"daytime": (125, 170, 230), "dawn": (225, 175, 140), "dusk": (215, 150, 125), "night": (25, 30, 55)}
    sky_colour = sky[attributes["timeofday"]]
    if attributes["weather"] in ("overcast", "rainy") and attributes["timeofday"] != "night":
        sky_colour = (185, 188, 192)
    objects = [SceneObject(SKY, None, -1, (_rect(0, 0, w, hz, _jitter(rng, sky_colour, 12)),))]
    if attributes["scene"] != "highway":
        objects += [facade(rng, street, x0, x1, attributes) for x0, x1 in facade_spans(rng, street)]
    ground_class = VEGETATION if attributes["scene"] == "highway" else SIDEWALK
    ground = (95, 125, 70) if ground_class == VEGETATION else (160, 150, 140)
    objects.append(SceneObject(ground_class, None, -1, (_rect(0, hz, w, h, _jitter(rng, ground)),)))
    road = [(street.road_edge(hz, -1), hz), (street.road_edge(hz, 1), hz),
            (street.road_edge(h, 1), h), (street.road_edge(h, -1), h)]
    shapes = [_poly(road, _jitter(rng, (105, 105, 110), 12))]
    white = _jitter(rng, (225, 225, 220), 10)
    for start in np.arange(0.1, 1.0, 0.2) + rng.uniform(0, 0.1):
        rows = [hz + (h - hz) * start ** 2, hz + (h - hz) * (start + 0.08) ** 2]
        half = [0.012 * street.road_half * street.depth_share(r) + 0.5 for r in rows]
        shapes.append(_poly([(street.vanish_x - half[0], rows[0]), (street.vanish_x + half[0], rows[0]),
                             (street.vanish_x + half[1], rows[1]), (street.vanish_x - half[1], rows[1])], white))
    objects.append(SceneObject(ROAD, None, -1, tuple(shapes)))
    return objects


def facade_spans(rng: np.random.Generator, street: _Street) -> list[tuple[float, float]]:
    """Column ranges of building facades on both sides of the vanishing point."""
    spans, x = [], 0.0
    while x < street.width:
        span = street.width * rng.uniform(0.08, 0.22)
        if abs(x + span / 2 - street.vanish_x) > street.width * 0.06 or rng.random() < 0.3:
            spans.append((x, x + span))
        x += span + rng.uniform(0, 0.03) * street.width
    return spans


def facade(rng: np.random.Generator, street: _Street, x0: float, x1: float, attributes: dict[str, str]) -> SceneObject:
    """A building facade, taller towards the frame edges (nearer), with a grid of windows."""
    low = attributes["scene"] == "residential"
    edge = abs((x0 + x1) / 2 - street.vanish_x) / street.width
    top = street.horizon - street.height * (0.08 + edge * rng.uniform(0.3, 0.9)) * (0.5 if low else 1.0)
    wall = _jitter(rng, [(170, 150, 125), (150, 80, 65), (135, 135, 140), (200, 190, 170)][rng.integers(4)], 20)
    lit = attributes["timeofday"] == "night"
    shapes = [_rect(x0, top, x1, street.horizon, wall)]
    rows, cols = int(rng.integers(2, 7)), int(rng.integers(2, 6))
    cell_w, cell_h = (x1 - x0) / cols, (street.horizon - top) / (rows + 0.5)
    for r in range(rows):
        for c in range(cols):
            glass = (230, 200, 120) if lit and rng.random() < 0.4 else (60, 70, 85)
            wx, wy = x0 + (c + 0.25) * cell_w, top + (r + 0.3) * cell_h
            shapes.append(_rect(wx, wy, wx + cell_w * 0.5, wy + cell_h * 0.55, _jitter(rng, glass, 10)))
    return SceneObject(BUILDING, None, -1, tuple(shapes))


def tree(rng: np.random.Generator, street: _Street) -> list[SceneObject]:
    """A trunk and a crown of overlapping ellipses on the roadside."""
    row = street.random_row(rng, 1.0)
    m, side = street.metre(row), int(rng.choice([-1, 1]))
    x = street.road_edge(row, side) + side * m * rng.uniform(0.5, 4)
    height = m * rng.uniform(4, 8)
    leaves = _jitter(rng, (70, 110, 50), 20)
    shapes = [_line([(x, row), (x, row - height * 0.55)], max(1.0, m * 0.3), _jitter(rng, (90, 70, 50)))]
    for _ in range(int(rng.integers(2, 5))):
        shapes.append(_ellipse(x + rng.uniform(-0.2, 0.2) * height, row - height * rng.uniform(0.6, 0.8),
                               height * rng.uniform(0.15, 0.28), height * rng.uniform(0.15, 0.25), _jitter(rng, leaves, 12)))
    return [SceneObject(VEGETATION, None, row, tuple(shapes))]


def pole_with_sign(rng: np.random.Generator, street: _Street) -> list[SceneObject]:
    """A pole on the roadside carrying a round, square or triangular traffic sign."""
    row = street.random_row(rng, 0.9)
    m, side = street.metre(row), int(rng.choice([-1, 1]))
    x = street.road_edge(row, side) + side * m * rng.uniform(0.3, 1.5)
    top, size = row - m * rng.uniform(2.6, 4), m * rng.uniform(0.3, 0.45)
    pole = SceneObject(POLE, None, row, (_line([(x, row), (x, top)], max(1.0, m * 0.12), _jitter(rng, (120, 120, 115))),))
    colour = [(200, 30, 30), (30, 70, 190), (235, 235, 235), (240, 200, 30)][rng.integers(4)]
    kind = rng.integers(3)
    if kind == 0:
        sign_shape = _ellipse(x, top, size, size, colour)
    elif kind == 1:
        sign_shape = _rect(x - size, top - size, x + size, top + size, colour)
    else:
        sign_shape = _poly([(x - size, top - size), (x + size, top - size), (x, top + size)], colour)
    return [pole, SceneObject(SIGN, "traffic sign", row + 1e-3, (sign_shape,))]


def car(rng: np.random.Generator, street: _Street) -> list[SceneObject]:
    """A car seen from behind on the road: wheels, body, cabin, rear window and tail lights."""
    row = street.random_row(rng, 1.05, 0.04)
    m = street.metre(row)
    x = street.vanish_x + street.road_half * street.depth_share(row) * rng.uniform(-0.85, 0.85)
    half, height = m * rng.uniform(0.85, 1.0), m * rng.uniform(1.35, 1.9)
    paint = _random_colour(rng, (0.0, 0.7), (0.15, 0.9))
    dark = (25, 25, 28)
    shapes = [_rect(x - half * 0.9, row - height * 0.2, x - half * 0.55, row, dark),
              _rect(x + half * 0.55, row - height * 0.2, x + half * 0.9, row, dark),
              _rect(x - half, row - height * 0.58, x + half, row - height * 0.12, paint),
              _poly([(x - half * 0.92, row - height * 0.58), (x + half * 0.92, row - height * 0.58),
                     (x + half * 0.72, row - height), (x - half * 0.72, row - height)], paint),
              _poly([(x - half * 0.8, row - height * 0.62), (x + half * 0.8, row - height * 0.62),
                     (x + half * 0.66, row - height * 0.93), (x - half * 0.66, row - height * 0.93)], (50, 60, 70))]
    for side in (-1, 1):
        lamp_x = x + side * half * 0.82
        shapes.append(_rect(lamp_x - half * 0.12, row - height * 0.52, lamp_x + half * 0.12, row - height * 0.42, (210, 30, 30)))
    return [SceneObject(CAR, "car", row, tuple(shapes))]


def person(rng: np.random.Generator, street: _Street) -> list[SceneObject]:
    """A person standing on the ground: legs, torso, arms and head with random pose and clothes.

    Walking persons swing legs and arms in opposition; proportions, clothing colours and an optional
    hat or bag vary, so the detector cannot learn one template.
    """
    row = street.random_row(rng, 1.08, 0.12)
    m = street.metre(row)
    x = street.width * rng.uniform(-0.03, 1.03)
    tall = m * (rng.uniform(1.55, 1.95) if rng.random() < 0.85 else rng.uniform(1.05, 1.4))
    head_r, leg_len = tall * rng.uniform(0.055, 0.07), tall * rng.uniform(0.44, 0.5)
    torso_len = tall - leg_len - 2.1 * head_r
    shoulder, limb = tall * rng.uniform(0.085, 0.12), max(1.0, tall * rng.uniform(0.055, 0.08))
    stride = rng.uniform(0.2, 0.45) if rng.random() < 0.6 else rng.uniform(0.0, 0.08)
    legs = (stride, -stride * rng.uniform(0.6, 1.0))
    hip_y = row - leg_len * math.cos(max(abs(a) for a in legs))
    neck = (x + tall * rng.uniform(-0.03, 0.03), hip_y - torso_len)
    skin = _jitter(rng, [(235, 195, 165), (190, 140, 100), (120, 80, 55)][rng.integers(3)], 12)
    top, trousers = _random_colour(rng, (0.1, 0.8), (0.15, 0.9)), _random_colour(rng, (0.0, 0.5), (0.1, 0.6))
    shapes = []
    for angle in legs:
        bend = rng.uniform(0, 0.15) * leg_len
        knee = (x + math.sin(angle) * leg_len / 2 + bend * 0.3, hip_y + math.cos(angle) * leg_len / 2)
        foot = (x + math.sin(angle) * leg_len, hip_y + math.cos(angle) * leg_len)
        shapes.append(_line([(x, hip_y), knee, foot], limb, trousers))
    shapes.append(_poly([(x - shoulder * 0.8, hip_y), (x + shoulder * 0.8, hip_y),
                         (neck[0] + shoulder, neck[1]), (neck[0] - shoulder, neck[1])], top))
    for side, swing in ((-1, legs[0]), (1, legs[1])):
        upper = side * rng.uniform(0.05, 0.5) + swing * 0.8
        lower = upper + side * rng.uniform(0, 0.9) if rng.random() < 0.3 else upper
        start = (neck[0] + side * (shoulder - limb / 2), neck[1] + limb / 2)
        elbow = (start[0] + math.sin(upper) * tall * 0.18, start[1] + math.cos(upper) * tall * 0.18)
        hand = (elbow[0] + math.sin(lower) * tall * 0.16, elbow[1] + math.cos(lower) * tall * 0.16)
        shapes.append(_line([start, elbow, hand], limb * 0.85, top))
    head_y = neck[1] - head_r * 0.95
    shapes.append(_ellipse(neck[0], head_y, head_r * 0.85, head_r, skin))
    shapes.append(_ellipse(neck[0], head_y - head_r * 0.45, head_r * 0.85, head_r * 0.55, _random_colour(rng, (0, 0.5), (0.05, 0.4))))
    if rng.random() < 0.2:
        shapes.append(_rect(neck[0] - head_r, head_y - head_r * 1.3, neck[0] + head_r, head_y - head_r * 0.5,
                            _random_colour(rng, (0.2, 0.9), (0.2, 0.9))))
    if rng.random() < 0.3:
        side = rng.choice([-1, 1])
        bag_x = x + side * shoulder * 0.9
        shapes.append(_rect(bag_x - tall * 0.05, hip_y - tall * 0.12, bag_x + tall * 0.05, hip_y + tall * 0.02,
                            _random_colour(rng, (0, 0.6), (0.1, 0.6))))
    return [SceneObject(PEDESTRIAN, "person", row, tuple(shapes))]


def random_layout(rng: np.random.Generator, width: int, height: int, attributes: dict[str, str], with_persons: bool) -> list[SceneObject]:
    """Background first, then the things sorted far to near, ready for painter's-order drawing."""
    street = _Street(rng, width, height)
    counts = {"city street": (4, 4, 2, 6), "residential": (3, 2, 5, 4), "highway": (5, 2, 5, 2)}[attributes["scene"]]
    makers = (car, pole_with_sign, tree, person)
    things: list[SceneObject] = []
    for maker, most in zip(makers, counts):
        least = 1 if maker is person and with_persons else 0
        if maker is person and not with_persons:
            continue
        for _ in range(int(rng.integers(least, most + 1))):
            things += maker(rng, street)
    return background_objects(rng, street, attributes) + sorted(things, key=lambda obj: obj.depth)


def draw_shape(target: np.ndarray, shape: Shape, value: Any, offset: tuple[int, int] = (0, 0)) -> None:
    """Rasterise one shape without anti-aliasing, so class and instance maps stay exact."""
    points = np.round(shape.points - np.array(offset)).astype(np.int32)
    if shape.kind == "poly":
        cv2.fillPoly(target, [points], value, cv2.LINE_8)
    elif shape.kind == "line":
        cv2.polylines(target, [points], False, value, max(1, round(shape.size[0])), cv2.LINE_8)
    else:
        axes = (max(1, round(shape.size[0])), max(1, round(shape.size[1])))
        cv2.ellipse(target, (int(points[0, 0]), int(points[0, 1])), axes, 0, 0, 360, value, -1, cv2.LINE_8)


def silhouette(obj: SceneObject) -> tuple[int, int, np.ndarray]:
    """The object's full mask, unclipped by the frame or occluders, as (x0, y0, local mask)."""
    extents = []
    for shape in obj.shapes:
        pad = (max(shape.size) if shape.size else 0) + 2
        extents.append(np.concatenate([shape.points.min(0) - pad, shape.points.max(0) + pad]))
    x0, y0, x1, y1 = np.floor(np.array(extents)[:, :2].min(0)).tolist() + np.ceil(np.array(extents)[:, 2:].max(0)).tolist()
    mask = np.zeros((int(y1 - y0) + 1, int(x1 - x0) + 1), np.uint8)
    for shape in obj.shapes:
        draw_shape(mask, shape, 1, (int(x0), int(y0)))
    return int(x0), int(y0), mask


def rasterise(objects: list[SceneObject], width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the objects in order into (RGB float canvas, class ids, instance ids = index + 1)."""
    canvas = np.zeros((height, width, 3), np.float32)
    classes = np.zeros((height, width), np.uint8)
    instances = np.zeros((height, width), np.int32)
    for instance_id, obj in enumerate(objects, start=1):
        for shape in obj.shapes:
            draw_shape(canvas, shape, shape.colour)
            draw_shape(classes, shape, obj.class_id)
            draw_shape(instances, shape, instance_id)
    return canvas, classes, instances


def measure_label(obj: SceneObject, instance_id: int, instances: np.ndarray) -> tuple[ObjectLabel | None, bool]:
    """The label of one object and whether it is shown well enough (a person must stay recognisable)."""
    height, width = instances.shape
    x0, y0, full = silhouette(obj)
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + full.shape[1], width), min(y0 + full.shape[0], height)
    if cx1 <= cx0 or cy1 <= cy0:
        return None, False
    inside = int(np.count_nonzero(full[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]))
    visible = instances[cy0:cy1, cx0:cx1] == instance_id
    shown = int(np.count_nonzero(visible))
    if shown < MIN_VISIBLE_PIXELS:
        return None, False
    ys, xs = np.nonzero(visible)
    parts = cv2.connectedComponents(visible.astype(np.uint8), connectivity=8)[0] - 1
    box = (cx0 + int(xs.min()), cy0 + int(ys.min()), cx0 + int(xs.max()) + 1, cy0 + int(ys.max()) + 1)
    label = ObjectLabel(instance_id, obj.category or "", box, shown < 0.95 * inside, inside < np.count_nonzero(full), parts)
    return label, shown >= 0.3 * inside and inside >= 0.4 * np.count_nonzero(full)


def crowded_persons(labels: list[ObjectLabel], instances: np.ndarray) -> set[int]:
    """Persons closer than 3 px to a nearer person: without instance ids they would merge."""
    mask = np.isin(instances, [label.instance_id for label in labels]).astype(np.uint8)
    groups = cv2.connectedComponents(cv2.dilate(mask, np.ones((3, 3), np.uint8)), connectivity=8)[1]
    taken, crowded = set(), set()
    for label in sorted(labels, key=lambda lab: -lab.instance_id):  # nearest first: later drawn is nearer
        x1, y1, x2, y2 = label.box
        group = int(groups[y1:y2, x1:x2][instances[y1:y2, x1:x2] == label.instance_id][0])
        (crowded if group in taken else taken).add(label.instance_id if group in taken else group)
    return crowded


def layout_labels(objects: list[SceneObject], instances: np.ndarray, style: str) -> tuple[list[ObjectLabel], set[int]]:
    """Labels of the categorised objects, and the instance ids of persons that must be removed."""
    labels, rejected = [], set()
    for instance_id, obj in enumerate(objects, start=1):
        if obj.category is None:
            continue
        label, shown = measure_label(obj, instance_id, instances)
        is_person = obj.category == "person"
        if is_person and (not shown or (style == "cg" and label.visible_parts != 1)):
            rejected.add(instance_id)
        elif label is not None:
            labels.append(label)
    if style == "cg" and not rejected:
        rejected = crowded_persons([lab for lab in labels if lab.category == "person"], instances)
    return labels, rejected


def render_frame(rng: np.random.Generator, width: int, height: int, style: str, with_persons: bool) -> RenderedFrame:
    """Lay out, rasterise and finish one frame; persons that would be hidden, split or (in CG)
    touching another person are removed and the frame redrawn, so every person is well shown."""
    for _attempt in range(MAX_LAYOUT_ATTEMPTS):
        attributes = random_attributes(rng, style)
        objects = random_layout(rng, width, height, attributes, with_persons)
        while True:
            canvas, classes, instances = rasterise(objects, width, height)
            labels, rejected = layout_labels(objects, instances, style)
            if not rejected:
                break
            objects = [obj for i, obj in enumerate(objects, start=1) if i not in rejected]
        if not with_persons or any(label.category == "person" for label in labels):
            break
    finish = photo_finish if style == "photo" else cg_finish
    return RenderedFrame(finish(canvas, classes, rng, attributes), classes, instances, tuple(labels), attributes)


def scale_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    grey = image.mean(axis=2, keepdims=True)
    return grey + (image - grey) * factor


def smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Unit-variance noise with blobs about `cell` pixels wide (stains, asphalt, foliage)."""
    coarse = rng.standard_normal((height // cell + 2, width // cell + 2), dtype=np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def lighting_gain(rng: np.random.Generator, height: int, width: int, timeofday: str) -> np.ndarray:
    """Exposure times a vertical light gradient times a vignette, per pixel."""
    exposure = {"daytime": (0.85, 1.1), "dawn": (0.6, 0.8), "dusk": (0.55, 0.75), "night": (0.3, 0.45)}[timeofday]
    rows = 1 + rng.uniform(-0.15, 0.15) * (np.linspace(-0.5, 0.5, height, dtype=np.float32))
    strength = rng.uniform(0.2, 0.6)
    fall_y = np.exp(-strength * np.linspace(-1, 1, height, dtype=np.float32) ** 2)
    fall_x = np.exp(-strength * np.linspace(-1, 1, width, dtype=np.float32) ** 2)
    return rng.uniform(*exposure) * np.outer(rows * fall_y, fall_x)


def colour_cast(rng: np.random.Generator, timeofday: str) -> np.ndarray:
    base = {"daytime": (1, 1, 1), "dawn": (1.1, 0.97, 0.85), "dusk": (1.12, 0.93, 0.82), "night": (0.85, 0.92, 1.15)}
    return np.array(base[timeofday], np.float32) * rng.uniform(0.94, 1.06, 3).astype(np.float32)


def photo_finish(canvas: np.ndarray, classes: np.ndarray, rng: np.random.Generator, attributes: dict[str, str]) -> np.ndarray:
    """Make a flat rendering look photographed: texture, light, muted colour, blur and sensor noise."""
    height, width = classes.shape
    texture = 0.6 * smooth_noise(rng, height, width, 6) + 0.4 * rng.standard_normal((height, width), dtype=np.float32)
    image = canvas * (1 + TEXTURE_STRENGTH[classes] * texture)[..., None]
    image *= lighting_gain(rng, height, width, attributes["timeofday"])[..., None]
    image *= colour_cast(rng, attributes["timeofday"])
    if attributes["weather"] in ("overcast", "rainy"):
        image = image.mean() + (image - image.mean()) * rng.uniform(0.7, 0.85)
    image = scale_saturation(image, rng.uniform(0.5, 0.8))
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.1))
    noise = rng.uniform(2, 5) * (1.8 if attributes["timeofday"] == "night" else 1.0)
    image += rng.standard_normal(image.shape, dtype=np.float32) * noise
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def cg_finish(canvas: np.ndarray, classes: np.ndarray, rng: np.random.Generator, attributes: dict[str, str]) -> np.ndarray:
    """Render-like finish: saturated flat colours, no noise and no blur (hard, aliased edges)."""
    return np.clip(scale_saturation(canvas, rng.uniform(1.3, 1.6)) + 0.5, 0, 255).astype(np.uint8)


def frames_without_persons(seed: int, set_id: int, count: int, fraction: float) -> set[int]:
    """Which frames of a set show no person: exactly round(count * fraction) of them, spread at random."""
    empty = int(math.floor(count * fraction + 0.5))
    return set(np.random.default_rng([seed, set_id]).permutation(count)[:empty].tolist())


def class_grid_text(classes: np.ndarray) -> bytes:
    """A GTTXT grid: one image row per line, class ids separated by single spaces."""
    tokens = np.array([str(i).encode() for i in range(256)], dtype=object)[classes]
    return b"\n".join(b" ".join(row) for row in tokens.tolist()) + b"\n"


def bdd_entry(name: str, frame: RenderedFrame, first_id: int) -> dict[str, Any]:
    """A frame record in the BDD100K 2018 detection label layout."""
    labels = [{
        "id": first_id + i, "category": label.category,
        "attributes": {"occluded": label.occluded, "truncated": label.truncated, "trafficLightColor": "none"},
        "manualShape": True, "manualAttributes": True,
        "box2d": dict(zip(("x1", "y1", "x2", "y2"), (float(v) for v in label.box))),
    } for i, label in enumerate(frame.labels)]
    return {"name": name, "attributes": frame.attributes, "timestamp": 10000, "labels": labels}


def write_real_split(out_dir: Path, split: str, set_id: int, count: int, settings: DemoSettings, progress: bool) -> None:
    """JPEG frames and the label JSON of one BDD100K-like split."""
    images_dir = out_dir / "bdd100k" / "images" / "100k" / split
    labels_dir = out_dir / "bdd100k" / "labels"
    images_dir.mkdir(parents=True, exist_ok=True)
    labels_dir.mkdir(parents=True, exist_ok=True)
    empty = frames_without_persons(settings.seed, set_id, count, settings.no_person_fraction)
    entries, next_id = [], 0
    for index in tqdm(range(count), desc=f"demo BDD100K {split}", disable=not progress):
        rng = np.random.default_rng([settings.seed, set_id, index])
        frame = render_frame(rng, settings.real_width, settings.real_height, "photo", index not in empty)
        name = f"demo-real-{split}-{index:06d}.jpg"
        quality = int(rng.integers(55, 91))
        bgr = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(images_dir / name), bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        entries.append(bdd_entry(name, frame, next_id))
        next_id += len(frame.labels)
    with (labels_dir / f"bdd100k_labels_images_{split}.json").open("w", encoding="utf-8") as handle:
        json.dump(entries, handle, indent=1)


def write_cg_set(out_dir: Path, settings: DemoSettings, progress: bool) -> None:
    """RGB, colour-coded GT and GTTXT class grids of the SYNTHIA-RAND-CVPR16-like set."""
    root = out_dir / "synthia"
    for folder in ("RGB", "GT", "GTTXT"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    empty = frames_without_persons(settings.seed, CG, settings.cg_frames, settings.no_person_fraction)
    for index in tqdm(range(settings.cg_frames), desc="demo SYNTHIA", disable=not progress):
        rng = np.random.default_rng([settings.seed, CG, index])
        frame = render_frame(rng, settings.cg_width, settings.cg_height, "cg", index not in empty)
        name = f"demo-cg-{index:06d}"
        cv2.imwrite(str(root / "RGB" / f"{name}.png"), cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / "GT" / f"{name}.png"), cv2.cvtColor(CLASS_COLOURS[frame.classes], cv2.COLOR_RGB2BGR))
        (root / "GTTXT" / f"{name}.txt").write_bytes(class_grid_text(frame.classes))


def make_demo_datasets(out_dir: Path, settings: DemoSettings, progress: bool = True) -> None:
    """Write <out_dir>/bdd100k/... and <out_dir>/synthia/... as described in the module docstring."""
    write_real_split(out_dir, "train", REAL_TRAIN, settings.real_train_frames, settings, progress)
    write_real_split(out_dir, "val", REAL_VAL, settings.real_val_frames, settings, progress)
    write_cg_set(out_dir, settings, progress)
