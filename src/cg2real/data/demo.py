"""Synthetic demo data: a BDD100K-like photo set and a SYNTHIA-RAND-CVPR16-like CG set.

Both sets come from one random street-layout generator (sky, buildings, road, trees, poles, signs,
cars, persons), rasterised back to front into an RGB canvas, a class map and an instance map at
once, so every box is computed from the pixels that are actually visible. Only the finish differs,
and only in ways a small fully convolutional generator can learn in a few epochs, since that is
what the demo's CycleGAN has (issue 17): no shape, scale or layout differs between the domains.

- Palette: the renderer's cool, over-saturated palette (`RENDER_TINT`, `RENDER_SATURATION`) against
  the camera's fixed warm grade and muted colours (`CAMERA_GRADE`, `CAMERA_SATURATION`). One fixed
  per-domain colour transform, outside the hue range a detector's colour augmentation covers.
- Lighting: the camera's tone curve (lifted blacks), exposure by time of day and a vignette; CG is
  evenly lit. Night and dusk are dim, not black, so persons stay visible in every frame.
- Texture and sensor: per-class texture, slight blur, grain and JPEG in photos; CG stays flat,
  noise-free and hard-edged.

An earlier version rendered night frames nearly black (exposure 0.35-0.5, 30% of the frames) with
a random colour cast per frame: the real domain was too broad for a 4-epoch CycleGAN, whose
translations came out as grey blur that hid the persons (row c at or below row a, issue 17).

Layout written by `make_demo_datasets(out_dir, settings)`:

- `bdd100k/images/100k/{train,val}/demo-real-{split}-NNNNNN.jpg` (16:9) and
  `bdd100k/labels/bdd100k_labels_images_{train,val}.json` (BDD100K 2018 detection labels: person,
  car, traffic sign boxes with occluded/truncated flags; frame weather/scene/timeofday);
- `synthia/RGB/demo-cg-NNNNNN.png` (4:3), `synthia/GT/<name>.png` (SYNTHIA colour code) and
  `synthia/GTTXT/<name>.txt` (class-id grid, SYNTHIA-RAND ids, 10 pedestrian). With no instance ids,
  persons in CG frames are kept at least 2 px apart, so each is one 8-connected component.

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

from cg2real.images import write_rgb

# SYNTHIA-RAND class ids used here (5 fence and 11 cyclist are never drawn).
SKY, BUILDING, ROAD, SIDEWALK, VEGETATION, POLE, CAR, SIGN, PEDESTRIAN = 1, 2, 3, 4, 6, 7, 8, 9, 10
# SYNTHIA-RAND colour code (RGB) of the GT images, indexed by class id 0..11.
CLASS_COLOURS = np.array(
    [(0, 0, 0), (128, 128, 128), (128, 0, 0), (128, 64, 128), (0, 0, 192), (64, 64, 128),
     (128, 128, 0), (192, 192, 128), (64, 0, 128), (192, 128, 128), (64, 64, 0), (0, 128, 192)],
    dtype=np.uint8,
)
# How strongly the photo finish textures each class (relative brightness modulation).
TEXTURE_STRENGTH = np.array([0, 0.03, 0.22, 0.16, 0.14, 0.1, 0.3, 0.06, 0.05, 0.04, 0.07, 0.07], np.float32)
REAL_TRAIN, REAL_VAL, CG = 0, 1, 2  # random stream ids of the three sets
MIN_VISIBLE_PIXELS = 30  # above the SYNTHIA reader's default min_component_pixels (20)
MAX_LAYOUT_ATTEMPTS = 20
# BDD100K frame attribute values with their share of the demo frames.
WEATHER = (("clear", "overcast", "partly cloudy", "rainy"), (0.5, 0.2, 0.15, 0.15))
SCENE = (("city street", "residential", "highway"), (0.6, 0.25, 0.15))
TIME_OF_DAY = (("daytime", "night", "dawn/dusk"), (0.6, 0.2, 0.2))
SKY_COLOURS = {"daytime": (125, 170, 230), "dawn/dusk": (220, 160, 130), "night": (45, 50, 80)}
EXPOSURE = {"daytime": (0.9, 1.05), "dawn/dusk": (0.7, 0.85), "night": (0.55, 0.7)}
COLOUR_CAST = {"daytime": (1, 1, 1), "dawn/dusk": (1.06, 0.97, 0.9), "night": (0.92, 0.96, 1.08)}
# The two domains' fixed looks (RGB gains and saturation factors): the gap the CycleGAN has to close.
CAMERA_GRADE = (1.06, 1.0, 0.84)
CAMERA_SATURATION = (0.6, 0.75)
CAMERA_BLACK_LEVEL = 0.07  # share of full scale the tone curve lifts black to (a faded, low-contrast look)
RENDER_TINT = (0.86, 1.02, 1.14)
RENDER_SATURATION = (1.3, 1.5)
Colour = tuple[float, ...]


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
    """A flat-coloured filled polygon, thick polyline or filled ellipse.

    `size` is (thickness,) for lines and (half width, half height) for ellipses, in pixels.
    """

    kind: str
    points: np.ndarray
    colour: Colour
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
    """A labelled object boxed tightly around its visible pixels (x2, y2 exclusive)."""

    instance_id: int
    category: str
    box: tuple[int, int, int, int]
    occluded: bool
    truncated: bool
    visible_parts: int


@dataclass(frozen=True)
class RenderedFrame:
    """A finished frame: RGB image, class ids, instance ids (object index + 1) and labels."""

    image: np.ndarray
    classes: np.ndarray
    instances: np.ndarray
    labels: tuple[ObjectLabel, ...]
    attributes: dict[str, str]

    @property
    def persons(self) -> list[ObjectLabel]:
        return [label for label in self.labels if label.category == "person"]


def _pick(rng: np.random.Generator, options: tuple[tuple[str, ...], tuple[float, ...]]) -> str:
    return str(rng.choice(options[0], p=options[1]))


def _jitter(rng: np.random.Generator, colour: Colour, amount: float = 18) -> Colour:
    """A colour near `colour`, so repeated objects do not look cloned."""
    return tuple(float(c) for c in np.clip(np.array(colour) + rng.uniform(-amount, amount, 3), 0, 255))


def _random_colour(rng: np.random.Generator, saturation: tuple[float, float], value: tuple[float, float]) -> Colour:
    """A random hue with saturation and brightness in the given ranges (clothing, car paint)."""
    hsv = np.uint8([[[rng.integers(0, 180), rng.uniform(*saturation) * 255, rng.uniform(*value) * 255]]])
    return tuple(float(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def _poly(points: list[tuple[float, float]], colour: Colour) -> Shape:
    return Shape("poly", np.array(points, np.float64), colour)


def _rect(x0: float, y0: float, x1: float, y1: float, colour: Colour) -> Shape:
    return _poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], colour)


def _ellipse(cx: float, cy: float, ax: float, ay: float, colour: Colour) -> Shape:
    return Shape("ellipse", np.array([(cx, cy)], np.float64), colour, (ax, ay))


def _line(points: list[tuple[float, float]], thickness: float, colour: Colour) -> Shape:
    return Shape("line", np.array(points, np.float64), colour, (thickness,))


def random_attributes(rng: np.random.Generator, style: str) -> dict[str, str]:
    """BDD100K frame attributes; CG frames are clear daylight renders of any scene type."""
    scene = _pick(rng, SCENE)
    if style == "cg":
        return {"weather": "clear", "scene": scene, "timeofday": "daytime"}
    return {"weather": _pick(rng, WEATHER), "scene": scene, "timeofday": _pick(rng, TIME_OF_DAY)}


class Street:
    """Perspective of a flat street: horizon row, vanishing column and pixels per metre by row."""

    def __init__(self, rng: np.random.Generator, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.horizon = height * rng.uniform(0.36, 0.5)
        self.vanish_x = width * rng.uniform(0.35, 0.65)
        self.road_half = width * rng.uniform(0.45, 0.85)

    def depth_share(self, row: float) -> float:
        return (row - self.horizon) / (self.height - self.horizon)

    def metre(self, row: float) -> float:
        """Pixels per metre on `row`: a 1.75 m person standing on the bottom row is 0.63 frames tall."""
        return self.depth_share(row) * self.height * 0.36

    def road_edge(self, row: float, side: int) -> float:
        return self.vanish_x + side * self.road_half * self.depth_share(row)

    def random_row(self, rng: np.random.Generator, near: float, far: float = 0.06) -> float:
        return self.horizon + (self.height - self.horizon) * rng.uniform(far, near)


def background_objects(rng: np.random.Generator, street: Street, attributes: dict[str, str]) -> list[SceneObject]:
    """Sky, facades with windows, ground, road and lane marks: everything behind the things."""
    w, h, hz = street.width, street.height, street.horizon
    highway = attributes["scene"] == "highway"
    sky = SKY_COLOURS[attributes["timeofday"]]
    if attributes["weather"] in ("overcast", "rainy") and attributes["timeofday"] != "night":
        sky = (185, 188, 192)
    objects = [SceneObject(SKY, None, -1, (_rect(0, 0, w, hz, _jitter(rng, sky, 12)),))]
    if not highway:
        objects += [facade(rng, street, x0, x1, attributes) for x0, x1 in facade_spans(rng, street)]
    ground_class, ground = (VEGETATION, (95, 125, 70)) if highway else (SIDEWALK, (160, 150, 140))
    objects.append(SceneObject(ground_class, None, -1, (_rect(0, hz, w, h, _jitter(rng, ground)),)))
    road = [(street.vanish_x, hz), (street.road_edge(h, 1), h), (street.road_edge(h, -1), h)]
    shapes = [_poly(road, _jitter(rng, (105, 105, 110), 12))]
    white = _jitter(rng, (225, 225, 220), 10)
    for start in np.arange(0.1, 1.0, 0.2) + rng.uniform(0, 0.1):  # dashes, longer when nearer
        near, far = hz + (h - hz) * (start + 0.08) ** 2, hz + (h - hz) * start**2
        near_half, far_half = (0.012 * street.road_half * street.depth_share(r) + 0.5 for r in (near, far))
        shapes.append(_poly([(street.vanish_x - far_half, far), (street.vanish_x + far_half, far),
                             (street.vanish_x + near_half, near), (street.vanish_x - near_half, near)], white))
    objects.append(SceneObject(ROAD, None, -1, tuple(shapes)))
    return objects


def facade_spans(rng: np.random.Generator, street: Street) -> list[tuple[float, float]]:
    """Column ranges of building facades, mostly leaving the far end of the street open."""
    spans, x = [], 0.0
    while x < street.width:
        span = street.width * rng.uniform(0.08, 0.22)
        if abs(x + span / 2 - street.vanish_x) > street.width * 0.06 or rng.random() < 0.3:
            spans.append((x, x + span))
        x += span + rng.uniform(0, 0.03) * street.width
    return spans


def facade(rng: np.random.Generator, street: Street, x0: float, x1: float, attributes: dict[str, str]) -> SceneObject:
    """A building facade, taller towards the frame edges (nearer), with a grid of windows."""
    edge = abs((x0 + x1) / 2 - street.vanish_x) / street.width
    storeys = 0.5 if attributes["scene"] == "residential" else 1.0
    top = street.horizon - street.height * (0.08 + edge * rng.uniform(0.3, 0.9)) * storeys
    wall = _jitter(rng, [(170, 150, 125), (150, 80, 65), (135, 135, 140), (200, 190, 170)][rng.integers(4)], 20)
    shapes = [_rect(x0, top, x1, street.horizon, wall)]
    rows, cols = int(rng.integers(2, 7)), int(rng.integers(2, 6))
    cell_w, cell_h = (x1 - x0) / cols, (street.horizon - top) / (rows + 0.5)
    for r in range(rows):
        for c in range(cols):
            lit = attributes["timeofday"] == "night" and rng.random() < 0.4
            wx, wy = x0 + (c + 0.25) * cell_w, top + (r + 0.3) * cell_h
            glass = _jitter(rng, (230, 200, 120) if lit else (60, 70, 85), 10)
            shapes.append(_rect(wx, wy, wx + cell_w * 0.5, wy + cell_h * 0.55, glass))
    return SceneObject(BUILDING, None, -1, tuple(shapes))


def tree(rng: np.random.Generator, street: Street) -> list[SceneObject]:
    """A trunk and a crown of overlapping ellipses on the roadside."""
    row = street.random_row(rng, 1.0)
    m, side = street.metre(row), int(rng.choice([-1, 1]))
    x, height = street.road_edge(row, side) + side * m * rng.uniform(0.5, 4), m * rng.uniform(4, 8)
    leaves = _jitter(rng, (70, 110, 50), 20)
    shapes = [_line([(x, row), (x, row - height * 0.55)], max(1.0, m * 0.3), _jitter(rng, (90, 70, 50)))]
    for _ in range(int(rng.integers(2, 5))):
        centre = (x + rng.uniform(-0.2, 0.2) * height, row - height * rng.uniform(0.6, 0.8))
        axes = (height * rng.uniform(0.15, 0.28), height * rng.uniform(0.15, 0.25))
        shapes.append(_ellipse(*centre, *axes, _jitter(rng, leaves, 12)))
    return [SceneObject(VEGETATION, None, row, tuple(shapes))]


def pole_with_sign(rng: np.random.Generator, street: Street) -> list[SceneObject]:
    """A pole on the roadside carrying a round, square or triangular traffic sign."""
    row = street.random_row(rng, 0.9)
    m, side = street.metre(row), int(rng.choice([-1, 1]))
    x = street.road_edge(row, side) + side * m * rng.uniform(0.3, 1.5)
    top, size = row - m * rng.uniform(2.6, 4), m * rng.uniform(0.3, 0.45)
    pole = _line([(x, row), (x, top)], max(1.0, m * 0.12), _jitter(rng, (120, 120, 115)))
    colour = [(200, 30, 30), (30, 70, 190), (235, 235, 235), (240, 200, 30)][rng.integers(4)]
    sign = [_ellipse(x, top, size, size, colour), _rect(x - size, top - size, x + size, top + size, colour),
            _poly([(x - size, top - size), (x + size, top - size), (x, top + size)], colour)][rng.integers(3)]
    return [SceneObject(POLE, None, row, (pole,)), SceneObject(SIGN, "traffic sign", row + 1e-3, (sign,))]


def car(rng: np.random.Generator, street: Street) -> list[SceneObject]:
    """A car seen from behind on the road: wheels, body, cabin, rear window and tail lights."""
    row = street.random_row(rng, 1.05, 0.04)
    m = street.metre(row)
    x = street.vanish_x + street.road_half * street.depth_share(row) * rng.uniform(-0.85, 0.85)
    half, tall = m * rng.uniform(0.85, 1.0), m * rng.uniform(1.35, 1.9)
    paint, dark = _random_colour(rng, (0.0, 0.7), (0.15, 0.9)), (25, 25, 28)

    def trapezoid(bottom: float, top: float, bottom_half: float, top_half: float, colour: Colour) -> Shape:
        y0, y1 = row - tall * bottom, row - tall * top
        return _poly([(x - bottom_half * half, y0), (x + bottom_half * half, y0),
                      (x + top_half * half, y1), (x - top_half * half, y1)], colour)

    shapes = [_rect(x - half * 0.9, row - tall * 0.2, x - half * 0.55, row, dark),
              _rect(x + half * 0.55, row - tall * 0.2, x + half * 0.9, row, dark),
              trapezoid(0.12, 0.58, 1.0, 1.0, paint), trapezoid(0.58, 1.0, 0.92, 0.72, paint),
              trapezoid(0.62, 0.93, 0.8, 0.66, (50, 60, 70))]
    for lamp_x in (x - half * 0.82, x + half * 0.82):
        lamp = _rect(lamp_x - half * 0.12, row - tall * 0.52, lamp_x + half * 0.12, row - tall * 0.42, (210, 30, 30))
        shapes.append(lamp)
    return [SceneObject(CAR, "car", row, tuple(shapes))]


def person(rng: np.random.Generator, street: Street) -> list[SceneObject]:
    """A person standing on the ground: legs, torso, arms and head with random pose and clothes.

    Walking persons swing legs and arms in opposition; height (children too), proportions, clothing
    colours and an optional hat or bag vary, so the detector cannot learn one template.
    """
    row = street.random_row(rng, 1.08, 0.12)
    x = street.width * rng.uniform(-0.03, 1.03)
    tall = street.metre(row) * (rng.uniform(1.55, 1.95) if rng.random() < 0.85 else rng.uniform(1.05, 1.4))
    head_r, leg_len = tall * rng.uniform(0.055, 0.07), tall * rng.uniform(0.44, 0.5)
    shoulder, limb = tall * rng.uniform(0.085, 0.12), max(1.0, tall * rng.uniform(0.055, 0.08))
    stride = rng.uniform(0.2, 0.45) if rng.random() < 0.6 else rng.uniform(0.0, 0.08)
    legs = (stride, -stride * rng.uniform(0.6, 1.0))
    hip_y = row - leg_len * math.cos(max(abs(a) for a in legs))
    neck = (x + tall * rng.uniform(-0.03, 0.03), hip_y - (tall - leg_len - 2.1 * head_r))
    skin = _jitter(rng, [(235, 195, 165), (190, 140, 100), (120, 80, 55)][rng.integers(3)], 12)
    top, trousers = _random_colour(rng, (0.1, 0.8), (0.15, 0.9)), _random_colour(rng, (0.0, 0.5), (0.1, 0.6))
    shapes = []
    for angle in legs:
        bend = rng.uniform(0, 0.05) * leg_len
        knee = (x + math.sin(angle) * leg_len / 2 + bend, hip_y + math.cos(angle) * leg_len / 2)
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
    hair = _random_colour(rng, (0, 0.5), (0.05, 0.4))
    shapes += [_ellipse(neck[0], head_y, head_r * 0.85, head_r, skin),
               _ellipse(neck[0], head_y - head_r * 0.45, head_r * 0.85, head_r * 0.55, hair)]
    if rng.random() < 0.2:
        hat = _random_colour(rng, (0.2, 0.9), (0.2, 0.9))
        shapes.append(_rect(neck[0] - head_r, head_y - head_r * 1.3, neck[0] + head_r, head_y - head_r * 0.5, hat))
    if rng.random() < 0.3:
        bag_x, bag = x + rng.choice([-1, 1]) * shoulder * 0.9, _random_colour(rng, (0, 0.6), (0.1, 0.6))
        shapes.append(_rect(bag_x - tall * 0.05, hip_y - tall * 0.12, bag_x + tall * 0.05, hip_y + tall * 0.02, bag))
    return [SceneObject(PEDESTRIAN, "person", row, tuple(shapes))]


def random_layout(
    rng: np.random.Generator, width: int, height: int, attributes: dict[str, str], with_persons: bool
) -> list[SceneObject]:
    """Background first, then the things sorted far to near, ready for painter's-order drawing."""
    street = Street(rng, width, height)
    most_cars, most_poles, most_trees, most_persons = {
        "city street": (4, 4, 2, 6), "residential": (3, 2, 5, 4), "highway": (5, 2, 5, 2)
    }[attributes["scene"]]
    things: list[SceneObject] = []
    for maker, most in ((car, most_cars), (pole_with_sign, most_poles), (tree, most_trees)):
        for _ in range(int(rng.integers(0, most + 1))):
            things += maker(rng, street)
    for _ in range(int(rng.integers(1, most_persons + 1)) if with_persons else 0):
        things += person(rng, street)
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
    """The object's full mask, not clipped by the frame nor occluders, as (x0, y0, local mask)."""
    pads = [(max(shape.size) if shape.size else 0) + 2 for shape in obj.shapes]
    x0, y0 = np.floor(np.min([s.points.min(0) - pad for s, pad in zip(obj.shapes, pads)], axis=0)).astype(int)
    x1, y1 = np.ceil(np.max([s.points.max(0) + pad for s, pad in zip(obj.shapes, pads)], axis=0)).astype(int)
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    for shape in obj.shapes:
        draw_shape(mask, shape, 1, (x0, y0))
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
    """The object's label (None when barely visible) and whether it is shown well enough to keep:
    at least 30 % of its in-frame silhouette visible and at least 40 % of it inside the frame."""
    height, width = instances.shape
    x0, y0, full = silhouette(obj)
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + full.shape[1], width), min(y0 + full.shape[0], height)
    if cx1 <= cx0 or cy1 <= cy0:
        return None, False
    visible = instances[cy0:cy1, cx0:cx1] == instance_id
    shown = int(np.count_nonzero(visible))
    if shown < MIN_VISIBLE_PIXELS:
        return None, False
    inside, total = int(np.count_nonzero(full[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0])), int(np.count_nonzero(full))
    ys, xs = np.nonzero(visible)
    box = (cx0 + int(xs.min()), cy0 + int(ys.min()), cx0 + int(xs.max()) + 1, cy0 + int(ys.max()) + 1)
    parts = cv2.connectedComponents(visible.astype(np.uint8), connectivity=8)[0] - 1
    label = ObjectLabel(instance_id, obj.category or "", box, shown < 0.95 * inside, inside < total, parts)
    return label, shown >= 0.3 * inside and inside >= 0.4 * total


def crowded_persons(persons: list[ObjectLabel], instances: np.ndarray) -> set[int]:
    """Persons closer than 3 px to a nearer person: without instance ids they would merge."""
    mask = np.isin(instances, [label.instance_id for label in persons]).astype(np.uint8)
    groups = cv2.connectedComponents(cv2.dilate(mask, np.ones((3, 3), np.uint8)), connectivity=8)[1]
    taken, crowded = set(), set()
    for label in sorted(persons, key=lambda lab: -lab.instance_id):  # nearest (drawn last) first
        x1, y1, x2, y2 = label.box
        group = int(groups[y1:y2, x1:x2][instances[y1:y2, x1:x2] == label.instance_id][0])
        if group in taken:
            crowded.add(label.instance_id)
        taken.add(group)
    return crowded


def layout_labels(objects: list[SceneObject], instances: np.ndarray, style: str) -> tuple[list[ObjectLabel], set[int]]:
    """Labels of the categorised objects, and the instance ids of persons that must be removed:
    barely shown ones, and in CG (no instance ids) ones split in pieces or touching another person."""
    labels, rejected = [], set()
    for instance_id, obj in enumerate(objects, start=1):
        if obj.category is None:
            continue
        label, shown = measure_label(obj, instance_id, instances)
        if obj.category == "person" and (not shown or (style == "cg" and label.visible_parts != 1)):
            rejected.add(instance_id)
        elif label is not None:
            labels.append(label)
    if style == "cg" and not rejected:
        rejected = crowded_persons([label for label in labels if label.category == "person"], instances)
    return labels, rejected


def render_frame(rng: np.random.Generator, width: int, height: int, style: str, with_persons: bool) -> RenderedFrame:
    """Lay out, rasterise and finish one frame in `style` ("photo" or "cg").

    Rejected persons are removed and the frame redrawn until every person left is well shown; a
    frame meant to show persons that loses them all gets a new layout.
    """
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
    image = photo_finish(canvas, classes, rng, attributes) if style == "photo" else cg_finish(canvas, rng)
    return RenderedFrame(image, classes, instances, tuple(labels), attributes)


def scale_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """Move colours away from (factor > 1) or towards (factor < 1) their grey level."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
    return grey + (image - grey) * np.float32(factor)


def smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Roughly unit-variance noise with blobs about `cell` pixels wide (stains, asphalt, foliage)."""
    coarse = rng.standard_normal((height // cell + 2, width // cell + 2), dtype=np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def lighting_gain(rng: np.random.Generator, height: int, width: int, timeofday: str) -> np.ndarray:
    """Exposure times a gentle vertical light gradient times a mild vignette, per pixel."""
    rows = 1 + rng.uniform(-0.1, 0.1) * np.linspace(-0.5, 0.5, height, dtype=np.float32)
    strength = rng.uniform(0.1, 0.3)
    fall_y = np.exp(-strength * np.linspace(-1, 1, height, dtype=np.float32) ** 2)
    fall_x = np.exp(-strength * np.linspace(-1, 1, width, dtype=np.float32) ** 2)
    return np.float32(rng.uniform(*EXPOSURE[timeofday])) * np.outer(rows * fall_y, fall_x)


def tone_curve(image: np.ndarray, black_level: float) -> np.ndarray:
    """The camera's response: black lifted to `black_level` of full scale, white kept (less contrast)."""
    return np.float32(255 * black_level) + image * np.float32(1 - black_level)


def sensor_noise(rng: np.random.Generator, height: int, width: int, strength: float) -> np.ndarray:
    """Per-pixel luminance grain plus coarser colour noise, like a demosaiced small sensor."""
    noise = cv2.resize(rng.standard_normal((height // 2 + 1, width // 2 + 1, 3), dtype=np.float32), (width, height))
    noise *= np.float32(0.5 * strength)
    noise += rng.standard_normal((height, width, 1), dtype=np.float32) * np.float32(strength)
    return noise


def photo_finish(
    canvas: np.ndarray, classes: np.ndarray, rng: np.random.Generator, attributes: dict[str, str]
) -> np.ndarray:
    """Make a flat rendering look photographed: texture, light, the camera's grade and tone, blur, grain."""
    height, width = classes.shape
    timeofday = attributes["timeofday"]
    coarse, fine = max(2, width // 64), max(1, width // 192)  # blob sizes follow the frame size
    texture = 0.6 * smooth_noise(rng, height, width, coarse) + 0.5 * smooth_noise(rng, height, width, fine)
    gain = (1 + TEXTURE_STRENGTH[classes] * texture) * lighting_gain(rng, height, width, timeofday)
    cast = np.array(COLOUR_CAST[timeofday], np.float32) * rng.uniform(0.97, 1.03, 3).astype(np.float32)
    image = canvas * gain[..., None] * (cast * np.array(CAMERA_GRADE, np.float32))
    if attributes["weather"] in ("overcast", "rainy"):
        mean = image.mean()
        image = mean + (image - mean) * np.float32(rng.uniform(0.8, 0.9))
    image = tone_curve(scale_saturation(image, rng.uniform(*CAMERA_SATURATION)), CAMERA_BLACK_LEVEL)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 0.7))
    image += sensor_noise(rng, height, width, rng.uniform(2, 4) * (1.5 if timeofday == "night" else 1.0))
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def cg_finish(canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Render-like finish: the renderer's cool, saturated palette, flat, no noise and no blur (hard,
    aliased edges)."""
    image = scale_saturation(canvas, rng.uniform(*RENDER_SATURATION)) * np.array(RENDER_TINT, np.float32)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def frames_without_persons(seed: int, set_id: int, count: int, fraction: float) -> set[int]:
    """Which frames of a set show no person: exactly round(count * fraction), spread at random."""
    empty = int(math.floor(count * fraction + 0.5))
    return set(np.random.default_rng([seed, set_id]).permutation(count)[:empty].tolist())


def class_grid_text(classes: np.ndarray) -> bytes:
    """A GTTXT grid: one image row per line, class ids separated by single spaces (5x faster than savetxt)."""
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


def write_real_split(out_dir: Path, split: str, set_id: int, settings: DemoSettings, progress: bool) -> None:
    """JPEG frames (random quality 70-90) and the label JSON of one BDD100K-like split."""
    images_dir, labels_dir = out_dir / "bdd100k" / "images" / "100k" / split, out_dir / "bdd100k" / "labels"
    images_dir.mkdir(parents=True, exist_ok=True)
    labels_dir.mkdir(parents=True, exist_ok=True)
    count = settings.real_train_frames if set_id == REAL_TRAIN else settings.real_val_frames
    empty = frames_without_persons(settings.seed, set_id, count, settings.no_person_fraction)
    entries, next_id = [], 0
    for index in tqdm(range(count), desc=f"demo BDD100K {split}", disable=not progress):
        rng = np.random.default_rng([settings.seed, set_id, index])
        frame = render_frame(rng, settings.real_width, settings.real_height, "photo", index not in empty)
        name = f"demo-real-{split}-{index:06d}.jpg"
        write_rgb(images_dir / name, frame.image, (cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 91))))
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
        write_rgb(root / "RGB" / f"{name}.png", frame.image)
        write_rgb(root / "GT" / f"{name}.png", CLASS_COLOURS[frame.classes])
        (root / "GTTXT" / f"{name}.txt").write_bytes(class_grid_text(frame.classes))


def make_demo_datasets(out_dir: Path, settings: DemoSettings, progress: bool = True) -> None:
    """Write <out_dir>/bdd100k/... and <out_dir>/synthia/... (layouts in the module docstring)."""
    write_real_split(out_dir, "train", REAL_TRAIN, settings, progress)
    write_real_split(out_dir, "val", REAL_VAL, settings, progress)
    write_cg_set(out_dir, settings, progress)
