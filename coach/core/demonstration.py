"""A short animated demonstration of an exercise on the patient's own calm face (pure).

Before each exercise the coach shows the movement it asks for, on the calm mesh
face measured at calibration: the exercise's prime movement, at the size of this
patient's target and at the exercise's speed (rise over `move_s`, a short hold,
a slow return). The patient sees the size and speed asked for without a mirror
and without a video of someone else.

The movement is a smooth displacement field: a few anchor landmarks move (the
mouth corners up and out for a smile, the upper lids down for eye closure …),
others are held still (the lower lids, the nose, the chin), and every other mesh
point follows its nearest anchors with a Gaussian fall-off. Its size is solved
so that the coach's own measure of the animated face (`measures.measure` →
`calibration.relative`) reaches the target: what is shown is what is counted.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from coach.core import face
from coach.core.calibration import REL_INDEX, MIN_BASELINE_FRAMES, Baseline, fit_baseline, relative
from coach.core.exercises import Exercise, Prime
from coach.core.frames import LandmarkFrame
from coach.core.measures import measure

DEMO_HOLD_S = 1.5          # the hold, shortened: the demonstration shows size and speed
DEMO_REST_S = 1.0          # still, between loops
LOWER_BROW = {"left": (276, 283, 282, 295, 285), "right": (46, 53, 52, 65, 55)}
ALAR = {"left": 278, "right": 48}
CHIN, UPPER_LIP_TOP = 152, 0


def _upper_lower(side: str) -> tuple[list[int], list[int]]:
    """The eye contour's upper-lid and lower-lid points (the corners in neither)."""
    contour = face.EYE_CONTOUR[side]
    i_inner = contour.index(face.EYE_INNER[side])
    return list(contour[i_inner + 1:]), list(contour[1:i_inner])


def _eye_closure(p: np.ndarray) -> dict[int, np.ndarray]:
    moves: dict[int, np.ndarray] = {}
    for side in face.SIDES:
        upper, lower = _upper_lower(side)
        low = p[lower]
        for u in upper:
            nearest = low[np.argmin(np.abs(low[:, 0] - p[u, 0]))]
            moves[u] = np.array([0.0, nearest[1] - p[u, 1]])
        for q in (*lower, face.EYE_OUTER[side], face.EYE_INNER[side], *face.BROW[side]):
            moves[q] = np.zeros(2)
    return moves


def _corners(p: np.ndarray, out: float, up: float, iod: float) -> dict[int, np.ndarray]:
    moves = {q: np.zeros(2) for q in (face.NOSE_TIP, CHIN, face.UPPER_LIP_MID, face.LOWER_LIP_MID)}
    mid = (p[face.MOUTH_CORNER["left"], 0] + p[face.MOUTH_CORNER["right"], 0]) / 2
    for side in face.SIDES:
        c = face.MOUTH_CORNER[side]
        outward = math.copysign(1.0, p[c, 0] - mid)
        moves[c] = np.array([out * outward, -up]) * iod
        for q in face.EYE_CONTOUR[side]:
            moves[q] = np.zeros(2)
    return moves


def _brow_lift(p: np.ndarray, iod: float) -> dict[int, np.ndarray]:
    moves = {}
    for side in face.SIDES:
        for q in (*face.BROW[side], *LOWER_BROW[side]):
            moves[q] = np.array([0.0, -iod])
        for q in face.EYE_CONTOUR[side]:
            moves[q] = np.zeros(2)
    return moves


def _lip_lift(p: np.ndarray, iod: float) -> dict[int, np.ndarray]:
    moves = {q: np.zeros(2) for q in (CHIN, face.LOWER_LIP_MID, *face.MOUTH_CORNER.values())}
    for side in face.SIDES:
        for q in (*face.UPPER_LIP_LATERAL[side], ALAR[side]):
            moves[q] = np.array([0.0, -iod * (0.5 if q == ALAR[side] else 1.0)])
    return moves


def _mouth_open(p: np.ndarray, iod: float) -> dict[int, np.ndarray]:
    return {face.LOWER_LIP_MID: np.array([0.0, iod]), face.INNER_LIP_BOTTOM: np.array([0.0, iod]),
            CHIN: np.array([0.0, 0.8 * iod]), face.UPPER_LIP_MID: np.zeros(2), face.INNER_LIP_TOP: np.zeros(2)}


def anchors(p: np.ndarray, prime: Prime, iod: float) -> dict[int, np.ndarray]:
    """Anchor landmark → displacement (pixels) of the prime movement at an arbitrary unit size."""
    name = prime.measure
    closing = prime.direction < 0
    if name == "eye_opening":
        return _eye_closure(p) if closing else {q: -v for q, v in _eye_closure(p).items()}
    if name == "brow_height":
        return _brow_lift(p, iod if not closing else -iod)
    if name == "commissure_excursion":
        return _corners(p, 0.45 * prime.direction, 0.9 * prime.direction, iod)
    if name == "commissure_elevation":
        return _corners(p, 0.0, prime.direction, iod)
    if name == "mouth_width":       # a pucker: the corners come in
        return _corners(p, prime.direction, 0.0, iod)
    if name == "upper_lip_elevation":
        return _lip_lift(p, iod * prime.direction)
    return _mouth_open(p, iod * prime.direction)


def displacement(p: np.ndarray, moves: dict[int, np.ndarray], sigma: float) -> np.ndarray:
    """Every point's displacement: anchors exactly, the rest a Gaussian-weighted blend of the anchors'
    (with a still background, so far points stay put)."""
    idx = np.array(list(moves))
    vec = np.stack([moves[i] for i in idx])
    d2 = ((p[:, None, :] - p[idx][None, :, :]) ** 2).sum(-1)
    w = np.exp(-d2 / (2 * sigma ** 2))
    background = math.exp(-2.0)            # as if a still point sat 2 sigma away
    out = (w @ vec) / (w.sum(axis=1, keepdims=True) + background)
    out[idx] = vec
    return np.asarray(out, dtype=np.float64)


def _prime_change(points: np.ndarray, frame: LandmarkFrame, prime: Prime, baseline: Baseline) -> float:
    m = measure(LandmarkFrame(0.0, frame.width, frame.height, points.astype(np.float32)))
    rel = relative(m, baseline)
    if rel is None:
        return float("nan")
    return float(np.mean(prime.direction * rel[REL_INDEX[prime.measure]]))


class Demonstration:
    """The prime movement animated on a calm face: `points(t)` loops rise, hold, return, rest."""

    def __init__(self, calm: LandmarkFrame, prime: Prime, amount: float, move_s: float = 2.0,
                 hold_s: float = DEMO_HOLD_S, relax_s: float = 2.0):
        if calm.points is None:
            raise ValueError("a demonstration needs a face")
        self.calm = calm
        self._calm_points: np.ndarray = calm.points
        self.amount = float(amount)
        self.move_s, self.hold_s, self.relax_s = float(move_s), min(float(hold_s), DEMO_HOLD_S), float(relax_s)
        self.cycle_s = self.move_s + self.hold_s + self.relax_s + DEMO_REST_S
        px = calm.pixels()[:, :2].astype(np.float64)
        eyes = [(px[face.EYE_OUTER[s]] + px[face.EYE_INNER[s]]) / 2 for s in face.SIDES]
        iod = float(np.linalg.norm(eyes[0] - eyes[1]))
        sigma = 0.22 * iod if prime.measure in ("eye_opening", "brow_height") else 0.45 * iod
        unit = displacement(px, anchors(px, prime, 0.1 * iod), sigma)
        scale = np.array([calm.width, calm.height], float)
        self._unit = np.zeros((len(px), 3))
        self._unit[:, :2] = unit / scale
        base_pts = self._calm_points.astype(np.float64)
        baseline = fit_baseline([measure(calm)] * MIN_BASELINE_FRAMES)
        self.size = self._solve(base_pts, calm, prime, baseline)

    def _solve(self, base: np.ndarray, calm: LandmarkFrame, prime: Prime, baseline: Baseline) -> float:
        """The multiple of the unit displacement whose measured change is the target (two secant steps)."""
        size = 1.0
        for _ in range(3):
            got = _prime_change(base + size * self._unit, calm, prime, baseline)
            if not np.isfinite(got) or got <= 1e-6:
                return size
            size *= self.amount / got
            size = float(min(size, 12.0))      # never tear the mesh apart
        return size

    def level(self, t: float) -> float:
        """The movement's size at time t of the loop (0 at rest, 1 at the target): a smooth rise and return."""
        u = t % self.cycle_s
        if u < self.move_s:
            return 0.5 - 0.5 * math.cos(math.pi * u / self.move_s)
        u -= self.move_s
        if u < self.hold_s:
            return 1.0
        u -= self.hold_s
        if u < self.relax_s:
            return 0.5 + 0.5 * math.cos(math.pi * u / self.relax_s)
        return 0.0

    def phase(self, t: float) -> str:
        u = t % self.cycle_s
        for name, length in (("move", self.move_s), ("hold", self.hold_s), ("relax", self.relax_s)):
            if u < length:
                return name
            u -= length
        return "rest"

    def points(self, t: float) -> np.ndarray:
        return (self._calm_points + self.level(t) * self.size * self._unit).astype(np.float32)


def performed(calm: LandmarkFrame, exercise: Exercise, starts: Iterable[float], seconds: float, *,
              fps: float = 30.0, size: float = 1.0,
              sides: tuple[float, float] = (1.0, 1.0), lag_s: float = 0.0, rise_s: float | None = None,
              hold_s: float | None = None) -> list[LandmarkFrame]:
    """A patient performing the exercise on the calm face, frame by frame (for tests, screenshots and
    the README's pictures): reps starting at `starts`, each rising over `rise_s` (default: the exercise's
    move_s), held `hold_s` (default: its hold plus a second) and returning over its relax_s, at `size`
    times the exercise's target. `sides` scales the patient's (left, right) side; the right side starts
    `lag_s` later."""
    prime = exercise.prime
    demo = Demonstration(calm, prime, prime.target * size, move_s=rise_s or exercise.move_s,
                         relax_s=exercise.relax_s)
    hold = exercise.hold_s + 1.0 if hold_s is None else hold_s
    rise = demo.move_s
    calm_points = demo._calm_points
    starts = list(starts)
    mid = float(calm_points[face.NASION, 0])
    # The patient's left is the image's right: a smooth step across the midline.
    left_w = 1.0 / (1.0 + np.exp(-(calm_points[:, 0] - mid) / 0.01))
    frames = []
    for i in range(int(seconds * fps)):
        t = i / fps
        k = [max((_envelope(t - s - (lag_s if side else 0.0), rise, hold, exercise.relax_s) for s in starts),
                 default=0.0) for side in (0, 1)]
        weight = left_w * sides[0] * k[0] + (1 - left_w) * sides[1] * k[1]
        pts = calm_points + (weight[:, None] * demo.size * demo._unit)
        frames.append(LandmarkFrame(t, calm.width, calm.height, pts.astype(np.float32), index=i))
    return frames


def _envelope(u: float, rise: float, hold: float, fall: float) -> float:
    if u < 0 or u > rise + hold + fall:
        return 0.0
    if u < rise:
        return 0.5 - 0.5 * math.cos(math.pi * u / rise)
    if u < rise + hold:
        return 1.0
    return 0.5 + 0.5 * math.cos(math.pi * (u - rise - hold) / fall)
