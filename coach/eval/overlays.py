"""Image overlays of the synthetic clips' lower face: what a warp of the face mesh cannot show.

- `neck_bands`: platysma bands, 2-3 shaded vertical ridges below the jaw on one side;
- `swallow_bump`: the larynx travelling up and down the neck's midline;
- `darken_neck`: the lower frame too dark to judge;
- `neck_cover`: a high collar (plain) or a scarf (patterned, coloured) over the neck;
- `dimple_layer`, `beard_layer`: layers drawn once on the neutral canvas and moved with the
  face by the warp's own lookup (chin dimples, peau d'orange; a beard over chin and neck).

`points` are landmarks in the image's pixels (the moved ones, for the overlays drawn after the
warp). Distances are in eye-centre distances (IOD) along the head's axes: u from the patient's
right eye to the left one's side of the image, v down the face.
"""
from __future__ import annotations

import cv2
import numpy as np

from coach.core import face
from coach.eval.lower_face import CHIN_MID, JAW, LIP_BORDER, mouth_frame
from coach.eval.warp import _fall, _smooth

BAND_OFFSETS = (0.16, 0.31, 0.46)   # the ridges' distance from the neck's midline (IOD), at the jaw
BAND_LENGTH = 0.8                   # how far down the neck they run (IOD)
BAND_SIGMA = 0.035                  # the ridge's width (IOD)
BAND_GAIN = 0.2                     # brightness change of the highlight / shadow at amount 1
COVER_BELOW_JAW = 0.12              # a collar's or scarf's top edge under the jaw line (IOD)
NECK_HALF = 0.6                     # half the neck's width (IOD)


def head_axes(q: np.ndarray):
    """(origin = the chin's lowest point, u, v, iod) of the face in `q` (pixels)."""
    c = {s: (q[face.EYE_OUTER[s]] + q[face.EYE_INNER[s]]) / 2 for s in face.SIDES}
    d = c["left"] - c["right"]
    if d[0] < 0:
        d = -d
    iod = float(np.hypot(*d))
    u = d / iod
    return q[CHIN_MID].astype(np.float64), u, np.array([-u[1], u[0]]), iod


def _grid(shape, o, u, v, iod):
    """Every pixel's (a, b) in IOD along u and v from `o`."""
    h, w = shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xs - o[0], ys - o[1]
    return (dx * u[0] + dy * u[1]) / iod, (dx * v[0] + dy * v[1]) / iod


def jaw_line(q: np.ndarray, o, u, v, iod):
    """The jaw's lower contour as a function a -> b (IOD, from the chin), held flat past its ends."""
    rel = (q[list(JAW)] - o) / iod
    a, b = rel @ u, rel @ v
    k = np.argsort(a)
    return lambda x: np.interp(x, a[k], b[k])


def _side_sign(q: np.ndarray, side: str, o, u) -> float:
    """+1 when the patient's `side` is towards +u in the image."""
    return 1.0 if (q[face.MOUTH_CORNER[side]] - o) @ u > 0 else -1.0


def _shade(image: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Brighten (delta > 0) or darken the image by the relative amounts `delta`."""
    out = image.astype(np.float32) * (1.0 + delta[..., None])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def band_field(shape, q: np.ndarray, side: str, amount: float, count: int = 3) -> np.ndarray:
    """The relative brightness change of `neck_bands` (float32, the image's shape)."""
    o, u, v, iod = head_axes(q)
    a, b = _grid(shape, o, u, v, iod)
    jaw = jaw_line(q, o, u, v, iod)
    sign = _side_sign(q, side, o, u)
    delta = np.zeros(shape[:2], np.float32)
    for k, off in enumerate(BAND_OFFSETS[:count]):
        a0 = sign * off
        top = float(jaw(a0)) + 0.06
        t = (b - top) / BAND_LENGTH
        along = np.sin(np.pi * np.clip(t, 0.0, 1.0)) ** 0.8         # fades at both ends
        centre = a0 + sign * 0.1 * np.clip(t, 0.0, 1.0) * BAND_LENGTH  # the cords diverge a little going down
        d = (a - centre) / BAND_SIGMA
        across = -sign * d * np.exp(0.5 - 0.5 * d * d)              # highlight beside shadow, peaks +-1
        delta += (1.0, 0.85, 0.7)[k] * along * across
    return (BAND_GAIN * amount) * delta


def neck_bands(image: np.ndarray, points: np.ndarray, side: str, amount: float, count: int = 3) -> np.ndarray:
    """Platysma bands on the patient's `side`: `count` shaded vertical ridges (a highlight stripe
    beside a shadow stripe, Gaussian across) from just under the jaw line down BAND_LENGTH IOD,
    fading at both ends, their strength `amount` (0..1)."""
    if amount <= 0:
        return image
    return _shade(image, band_field(image.shape, points, side, amount, count))


def swallow_bump(image: np.ndarray, points: np.ndarray, phase: float) -> np.ndarray:
    """The larynx during a swallow: a rounded bump on the neck's midline (lit from above: a
    highlight over a shadow), at `phase` 0 low on the neck (0.9 IOD under the chin) and at 1
    high (0.35 IOD under it)."""
    if not 0 < phase <= 1:
        return image
    o, u, v, iod = head_axes(points)
    a, b = _grid(image.shape, o, u, v, iod)
    b0 = 0.9 - 0.55 * phase
    da, db = a / 0.13, (b - b0) / 0.08
    bump = -db * np.exp(0.5 - 0.5 * (da * da + db * db))
    return _shade(image, (0.22 * min(1.0, 3 * phase)) * bump)


def darken_neck(image: np.ndarray, points: np.ndarray, factor: float = 0.1) -> np.ndarray:
    """The frame below the jaw line too dark to judge: multiplied by `factor`, blending in over
    0.2 IOD under the jaw (the face above keeps its light)."""
    o, u, v, iod = head_axes(points)
    a, b = _grid(image.shape, o, u, v, iod)
    below = _smooth((b - jaw_line(points, o, u, v, iod)(a) - 0.02) / 0.2)
    gain = 1.0 - (1.0 - factor) * below
    return np.clip(image.astype(np.float32) * gain[..., None] + 0.5, 0, 255).astype(np.uint8)


def cover_mask(shape, points: np.ndarray) -> np.ndarray:
    """Where a high collar or scarf covers the neck: everything COVER_BELOW_JAW under the jaw
    line, out to the shoulders (float32 0..1, soft edge)."""
    o, u, v, iod = head_axes(points)
    a, b = _grid(shape, o, u, v, iod)
    jaw = jaw_line(points, o, u, v, iod)
    # The top edge follows the jaw across the neck, then falls away to the shoulders.
    edge = jaw(np.clip(a, -NECK_HALF, NECK_HALF)) + COVER_BELOW_JAW + 0.3 * np.maximum(np.abs(a) - NECK_HALF - 0.1, 0)
    return _smooth((b - edge) / 0.04).astype(np.float32)


def neck_cover(image: np.ndarray, points: np.ndarray, kind: str) -> np.ndarray:
    """A high collar ("collar": plain dark blue, soft folds) or a scarf ("scarf": red tartan with
    green and yellow stripes) over the neck up to near the jaw."""
    o, u, v, iod = head_axes(points)
    a, b = _grid(image.shape, o, u, v, iod)
    m = cover_mask(image.shape, points)[..., None]
    if kind == "collar":
        colour = np.array([70, 45, 30], np.float32)                       # BGR: navy
        fold = 1 + 0.12 * np.sin(a * 2 * np.pi / 0.22) + 0.1 * _fall(np.abs(a) / 1.2) - 0.15 * (b > 0.3)
        fabric = colour * fold[..., None]
    elif kind == "scarf":
        fabric = np.empty(image.shape, np.float32)
        fabric[:] = np.array((40, 40, 170), np.float32)                     # red
        su, sv = (a * 6) % 1.0, (b * 6 + 0.2 * a) % 1.0                     # slanted weave
        for band, stripe in ((0.12, (60, 120, 40)), (0.04, (40, 200, 230))):   # green, yellow
            on = (np.abs(su - 0.5) < band) | (np.abs(sv - 0.5) < band)
            fabric[on] = 0.5 * fabric[on] + 0.5 * np.array(stripe, np.float32)
        fabric *= (1 + 0.08 * np.sin(b * 2 * np.pi / 0.18))[..., None]   # folds
    else:
        raise ValueError(f"unknown cover {kind!r}")
    out = image.astype(np.float32) * (1 - m) + np.clip(fabric, 0, 255) * m
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def dimple_layer(shape, points: np.ndarray, side: str, seed: int = 0, count: int = 30) -> np.ndarray:
    """Chin dimples (peau d'orange) on the patient's `side`, on the neutral canvas: small pits
    (0..1, darkest at their centre, 0.02 IOD across) between the lip's border and the chin's
    contour, from near the midline to under the mouth corner. Multiply the warped image by
    (1 - strength x the warped layer)."""
    loc, s, half, v = mouth_frame(points, side)
    o, u, _, iod = head_axes(points)
    rng = np.random.default_rng(seed)
    border, jaw = points[list(LIP_BORDER)], points[list(JAW)]
    lay = np.zeros(shape[:2], np.float32)
    sign = _side_sign(points, side, o, u)
    mid = (points[LIP_BORDER[5]] + points[CHIN_MID]) / 2
    for _ in range(count):
        across = rng.uniform(0.05, 0.85) * half * sign       # from the midline towards the corner
        down = rng.uniform(0.3, 0.9)
        x = mid[0] + across * u[0]
        top = np.interp(x, *_sorted(border)), np.interp(x, *_sorted(jaw))
        y = top[0] + down * (top[1] - top[0])
        r = rng.uniform(0.02, 0.035) * iod
        cv2.circle(lay, (int(round(x * 16)), int(round(y * 16))), max(16, int(round(r * 16))),
                   float(rng.uniform(0.5, 1.0)), -1, cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(lay, (0, 0), max(0.8, 0.015 * iod))


def _sorted(pts: np.ndarray):
    k = np.argsort(pts[:, 0])
    return pts[k, 0], pts[k, 1]


def beard_layer(shape, points: np.ndarray, seed: int = 0) -> np.ndarray:
    """A full beard on the neutral canvas, as BGRA (alpha 0..255): dark hair strands from the
    cheeks under the mouth over the chin and down the neck (0.7 IOD under the chin), leaving
    the lips bare."""
    o, u, v, iod = head_axes(points)
    a, b = _grid(shape, o, u, v, iod)
    jaw = jaw_line(points, o, u, v, iod)
    border = (points[list(LIP_BORDER)] - o) / iod
    ba, bb = border @ u, border @ v
    k = np.argsort(ba)
    lo_m, hi_m = float(ba.min()), float(ba.max())                            # the mouth corners
    lip = np.interp(a, ba[k], bb[k])
    # Under the lower lip's border; past the corners the edge rises towards the ears over the cheeks.
    top = lip + 0.07 - 0.6 * (np.maximum(lo_m - a, 0) + np.maximum(a - hi_m, 0))
    rel = (points[list(JAW)] - o) / iod @ u
    lo, hi = float(rel.min()), float(rel.max())
    # On the face: inside the jaw's outline, under `top`. On the neck: under the jaw, across the neck.
    on_face = _smooth((a - lo) / 0.08) * _smooth((hi - a) / 0.08) * _smooth((jaw(a) + 0.03 - b) / 0.04)
    on_neck = _smooth((NECK_HALF - np.abs(a)) / 0.12) * _smooth((jaw(a) + 0.5 - b) / 0.12)
    alpha = _smooth((b - top) / 0.05) * np.maximum(on_face, on_neck)
    rng = np.random.default_rng(seed)
    hair = np.zeros(shape[:2], np.float32)
    h, w = shape[:2]
    ys, xs = np.nonzero(alpha > 0.05)
    n = min(len(xs), int(0.25 * len(xs)))
    if n:
        pick = rng.choice(len(xs), n, replace=False)
        length = 0.05 * iod
        for x, y in zip(xs[pick], ys[pick]):
            ang = rng.normal(0, 0.5)
            dx, dy = length * np.sin(ang) * 0.6, length * np.cos(ang)
            cv2.line(hair, (int(x), int(y)), (int(x + dx), int(y + dy)), float(rng.uniform(0.3, 1.0)), 1)
    hair = cv2.GaussianBlur(hair, (0, 0), 0.6)
    base = np.array([28, 32, 40], np.float32)
    colour = base[None, None, :] * (0.45 + 1.6 * hair[..., None])
    a_out = np.clip(alpha * (0.75 + 0.25 * hair), 0, 1)
    return np.dstack([np.clip(colour, 0, 255), 255 * a_out]).astype(np.uint8)
