"""Displacement fields of the lower face for the synthetic clips: the chin (mentalis) raising its
soft tissue and everting the lower lip, the jaw dropping (talking, a swallow's chin tuck), and the
upper lip lifting over the canine (the snarl's prime movement).

Every field takes the neutral landmarks `p` (n, 2) and returns their displacements (n, 2), like
the fields of `coach.eval.warp`. Sides are the patient's anatomical side (`coach.core.face`):
"left" is the side of landmark 291's mouth corner. Distances are measured in the mouth's own
frame: u along the line between the mouth corners, v perpendicular to it (+ = down the face).
"""
from __future__ import annotations

import numpy as np

from coach.core import face
from coach.eval.warp import _axes, _fall, _smooth

# The lower lip's lower border (vermilion edge), right corner to left corner: 84 right, 17 mid, 314 left.
LIP_BORDER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
# The lower lip's inner edge (the lip line), right to left.
LIP_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
# The face contour's lower part, right jaw angle to left jaw angle: 148/176 right, 152 mid, 377/400 left.
JAW = (132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361)
CHIN_MID, LIP_MID = 152, 17
CHIN_SIDE = {"left": (377, 400), "right": (148, 176)}
LIP_SIDE = {"left": 314, "right": 84}
UPPER_BORDER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)   # the upper lip's border, right to left
UPPER_INNER = (191, 80, 81, 82, 13, 312, 311, 310, 415)            # its inner edge, corners left out
SUBNASALE = 2
OTHER_SIDE_SHARE = 0.12
CHIN_EDGE = 1.35          # the chin raise lifts the tissue down to this far under the contour (in lip-to-chin heights)   # what is left of a one-sided chin raise on the other side of the chin


def mouth_frame(p: np.ndarray, side: str = "left"):
    """(loc, s, half): each point's (u, v) in the mouth's frame, its signed position across the
    face in half mouth widths (0 at the midline, +1 at `side`'s corner, negative on the other
    side), and half the mouth's width."""
    o, u, v, width = _axes(p[face.MOUTH_CORNER["left"]], p[face.MOUTH_CORNER["right"]])
    loc = (p - o) @ np.stack([u, v]).T
    sign = 1.0 if p[face.MOUTH_CORNER[side]][0] > o[0] else -1.0
    return loc, sign * loc[:, 0] / (width / 2), width / 2, v


def _line(loc: np.ndarray, idx: tuple) -> np.ndarray:
    """The v of the polyline through landmarks `idx`, at every point's u (held flat past its ends)."""
    x, y = loc[list(idx), 0], loc[list(idx), 1]
    order = np.argsort(x)
    return np.interp(loc[:, 0], x[order], y[order])


def side_weight(s: np.ndarray, reach: float = 1.0, fade: float = 1.0,
                other: float = OTHER_SIDE_SHARE, across: tuple = (-0.7, 0.4)) -> np.ndarray:
    """How much of a one-sided movement a point at `s` (half mouth widths, + = the moving side)
    gets: all of it from `across[1]` of the way to the corner out to `reach`, fading smoothly
    across the midline to `other` on the far side (at `across[0]`), and to nothing `fade` beyond
    `reach` (the jaw angle)."""
    a0, a1 = across
    share = other + (1 - other) * _smooth((s - a0) / (a1 - a0))
    return share * np.where(s > reach, _fall((s - reach) / fade), 1.0)


def chin_raise(p: np.ndarray, side: str, amount: float) -> np.ndarray:
    """The chin's soft tissue on the patient's `side` moves up so the height from the lower
    lip's lower border (17 / 314 / 84) to the chin's lower contour (152 / 377, 400 / 148, 176)
    shortens by `amount` (a fraction of the neutral height) on that side. Each point between
    the border and the contour rises in proportion to its depth below the border (an even
    compression), fading across the midline to OTHER_SIDE_SHARE on the other side, to nothing
    at the jaw angle, and nothing above the lip's border."""
    loc, s, half, v = mouth_frame(p, side)
    # The border's middle (84, 17, 314), held level past them: the heights the measure reads.
    v_lip, v_chin = _line(loc, (LIP_SIDE["right"], LIP_MID, LIP_SIDE["left"])), _line(loc, JAW)
    height = np.maximum(v_chin - v_lip, 1e-6)
    f = (loc[:, 1] - v_lip) / height
    # The soft tissue just under the contour (the visible edge of the chin, often a little below
    # the mesh's contour) goes up with it; farther down the lift fades into the neck.
    depth = np.where(f <= 0, 0.0, np.where(f <= 1, f, np.where(f <= CHIN_EDGE, 1.0, _fall((f - CHIN_EDGE) / 1.0))))
    up = amount * height * depth * side_weight(s, reach=1.0, fade=1.2)
    return -up[:, None] * v[None, :]


def lip_eversion(p: np.ndarray, side: str, amount: float, turn: float = 0.5, lift: float = 0.15) -> np.ndarray:
    """The lower lip on the patient's `side` lifts and turns out (mentalis pushes it up and
    forward): the whole lip rises by `lift` x `amount` of its own height (the upper lip above it
    gives way, fading to nothing at the nose), and its lower border moves down, relative to the
    lip line, by `turn` x `amount` of that height, so more red lip shows. Below the border the
    movement fades to nothing at the chin's contour."""
    loc, s, half, v = mouth_frame(p, side)
    v_in, v_b, v_chin = _line(loc, LIP_INNER), _line(loc, LIP_BORDER), _line(loc, JAW)
    v_nose = float(loc[SUBNASALE, 1])
    lip_h = np.maximum(v_b - v_in, 1e-6)
    rise, out = lift * amount * lip_h, turn * amount * lip_h
    sv = loc[:, 1]
    above = -rise * np.clip((sv - v_nose) / np.maximum(v_in - v_nose, 1e-6), 0.0, 1.0)
    inside = -rise + out * (sv - v_in) / lip_h
    below = (out - rise) * _fall((sv - v_b) / np.maximum(v_chin - v_b, 1e-6))
    dv = np.where(sv < v_in, above, np.where(sv <= v_b, inside, below))
    dv = dv * side_weight(s, reach=0.9, fade=0.5, other=0.05, across=(-0.3, 0.25))
    return dv[:, None] * v[None, :]


def jaw_drop(p: np.ndarray, amount: float, lips_closed: bool = False) -> np.ndarray:
    """The jaw drops by `amount` (pixels): the lower lip, the chin and the jaw below the lip
    line move down together (the lip-to-chin height is unchanged), fading towards the jaw
    angles; the upper lip follows half-way at the lip line (talking). `lips_closed` (a
    swallow's chin tuck) takes the upper lip wholly, fading to nothing at the nose."""
    loc, s, half, v = mouth_frame(p)
    v_in = _line(loc, LIP_INNER)
    v_nose = float(loc[SUBNASALE, 1])
    sv = loc[:, 1]
    w = _fall((np.abs(s) - 1.2) / 1.6)
    if lips_closed:
        share = np.where(sv >= v_in, 1.0, np.clip((sv - v_nose) / np.maximum(v_in - v_nose, 1e-6), 0.0, 1.0))
    else:
        # The lip line is where the movement changes: the upper lip follows half-way, the lower
        # lip, its border and the chin wholly (the lips part a little where they are apart).
        share = _smooth((sv - v_in) / (0.6 * half) + 0.5)
    return (amount * w * share)[:, None] * v[None, :]


def lip_lift(p: np.ndarray, side: str, amount: float) -> np.ndarray:
    """The upper lip over the patient's `side` canine rises by `amount` of the mouth's width (a
    snarl), most at the canine (the lateral upper lip, 269/270 and 39/40), less at the midline
    and nothing at the corner; the skin above compresses towards the nose, where the lift fades
    out. The lower lip's inner edge follows (the lips stay closed), its lower border stays."""
    loc, s, half, v = mouth_frame(p, side)
    v_top = _line(loc, UPPER_BORDER)
    v_in = _line(loc, (78, *UPPER_INNER, 308))
    v_b = _line(loc, LIP_BORDER)
    v_nose = float(loc[SUBNASALE, 1])
    sv = loc[:, 1]
    # Most at the canine, less towards the midline, nothing at the corner itself.
    w = np.exp(-0.5 * ((s - 0.55) / 0.35) ** 2) * _smooth((s + 0.3) / 0.4) * np.where(s > 0.8, _fall((s - 0.8) / 0.25), 1)
    prof = np.where(sv <= v_top, np.clip((sv - v_nose) / np.maximum(v_top - v_nose, 1e-6), 0.0, 1.0) ** 1.5,
                    np.where(sv <= v_in + 1e-6, 1.0, _fall((sv - v_in) / np.maximum(v_b - v_in, 1e-6))))
    # At most 40 % of the way from the lip to the nose (a wide smiling mouth under a short upper lip).
    gap = float(np.median([v_top[i] - v_nose for i in face.UPPER_LIP_LATERAL[side]]))
    lift = min(amount * 2 * half, 0.4 * max(gap, 0.0))
    return -(lift * w * prof)[:, None] * v[None, :]


def lip_chin_heights(p: np.ndarray) -> dict[str, float]:
    """The lower-lip-to-chin height, per side and at the midline, in the mouth's frame (v):
    from the lip's lower border (84 / 17 / 314) to the chin's contour (148, 176 / 152 / 377, 400)."""
    loc, *_ = mouth_frame(p)
    out = {"mid": float(loc[CHIN_MID, 1] - loc[LIP_MID, 1])}
    for sd in face.SIDES:
        out[sd] = float(loc[list(CHIN_SIDE[sd]), 1].mean() - loc[LIP_SIDE[sd], 1])
    return out
