"""The warp of the synthetic clips: displacement fields moved through a piecewise-affine warp.

The warp is piecewise affine over a Delaunay triangulation of the neutral
landmarks plus points on the image border: each output pixel is mapped back
through the affine of the moved triangle it falls in. Landmarks far from the
movement have zero displacement, so only the triangles near the mouth and eyes
are rasterised per frame. The displacement fields (eye closure, corner pull, brow
lift) and their time envelopes (reps, blinks) are here too.
"""
from __future__ import annotations

import cv2
import numpy as np

from coach.core import face
from coach.eval.faces import RAMP_S, SIZE

# ---------------------------------------------------------------- the warp

def delaunay(points: np.ndarray) -> np.ndarray:
    """(n, 3) vertex indices of the Delaunay triangles of 2-D points (OpenCV's Subdiv2D)."""
    lo, hi = points.min(0) - 2, points.max(0) + 2
    sub = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 2, int(hi[1] - lo[1]) + 2))
    for x, y in points:
        sub.insert((float(x), float(y)))
    tris = np.asarray(sub.getTriangleList()).reshape(-1, 3, 2)
    # Subdiv2D returns coordinates; map them back to the nearest input point.
    d = ((tris[:, :, None, :] - points[None, None, :, :]) ** 2).sum(-1)
    idx = d.argmin(-1)
    ok = (d.min(-1) < 1e-3).all(1) & (idx[:, 0] != idx[:, 1]) & (idx[:, 1] != idx[:, 2]) & (idx[:, 0] != idx[:, 2])
    return idx[ok]


class Warper:
    """Piecewise-affine warp that moves `src` control points to new positions."""

    def __init__(self, src: np.ndarray, size=SIZE, border_step: int = 60):
        w, h = size
        self.size = size
        xs = np.linspace(0, w - 1, max(2, round(w / border_step) + 1))
        ys = np.linspace(0, h - 1, max(2, round(h / border_step) + 1))[1:-1]
        border = np.concatenate([np.stack([xs, np.zeros_like(xs)], 1),
                                 np.stack([xs, np.full_like(xs, h - 1)], 1),
                                 np.stack([np.zeros_like(ys), ys], 1),
                                 np.stack([np.full_like(ys, w - 1), ys], 1)])
        self.n = len(src)
        self.src = np.concatenate([np.asarray(src, np.float64), border])
        self.tri = delaunay(self.src)
        self.grid = np.mgrid[0:h, 0:w][::-1].astype(np.float32)  # (2, h, w): x, y

    def flipped(self, dst: np.ndarray) -> int:
        """Number of triangles whose orientation the move reverses (folds the image)."""
        def area(p):
            a, b, c = p[self.tri[:, 0]], p[self.tri[:, 1]], p[self.tri[:, 2]]
            return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        return int(np.sum(np.sign(area(self.src)) != np.sign(area(self._full(dst)))))

    def _full(self, dst):
        return np.concatenate([np.asarray(dst, np.float64), self.src[self.n:]])

    def maps(self, dst: np.ndarray, depth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """cv2.remap maps: for each output pixel, where to read in the source.

        `depth` (one per control point, + = away from the camera) turns on the painter's
        order: farther triangles are drawn first, nearer ones over them, so a turned head
        hides what the nose covers instead of folding it over."""
        dst = self._full(dst)
        mx, my = self.grid[0].copy(), self.grid[1].copy()
        moved = np.abs(dst - self.src).max(1) > 1e-3
        tris = self.tri[moved[self.tri].any(1)]
        if depth is not None and len(tris):
            far = float(np.max(depth)) + 1e6          # the border points: the scenery, farthest
            z = np.concatenate([np.asarray(depth, np.float64), np.full(len(self.src) - self.n, far)])
            p = dst[tris]
            area = ((p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1])
                    - (p[:, 1, 1] - p[:, 0, 1]) * (p[:, 2, 0] - p[:, 0, 0]))
            tris = tris[np.abs(area) > 1e-3]          # edge-on triangles cover nothing
            tris = tris[np.argsort(-z[tris].mean(1), kind="stable")]
        if len(tris) == 0:
            return mx, my
        # Affine per triangle, dst -> src: [x y 1] @ coef = (sx, sy).
        d = np.concatenate([dst[tris], np.ones((len(tris), 3, 1))], 2)
        coef = np.linalg.solve(d, self.src[tris])                      # (T, 3, 2)
        # Rasterise only the moved triangles; every other pixel keeps the identity.
        x0, y0 = np.floor(dst[tris].reshape(-1, 2).min(0)).astype(int)
        x1, y1 = np.ceil(dst[tris].reshape(-1, 2).max(0)).astype(int)
        w, h = self.size
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
        label = np.full((y1 - y0 + 1, x1 - x0 + 1), -1, np.int32)
        pts = np.round((dst[tris] - (x0, y0)) * 16).astype(np.int32)
        for i, p in enumerate(pts):
            cv2.fillConvexPoly(label, p, i, lineType=cv2.LINE_8, shift=4)
        inside = label >= 0
        k = label[inside]
        gx = self.grid[0, y0:y1 + 1, x0:x1 + 1][inside]
        gy = self.grid[1, y0:y1 + 1, x0:x1 + 1][inside]
        c = coef[k]
        mx[y0:y1 + 1, x0:x1 + 1][inside] = gx * c[:, 0, 0] + gy * c[:, 1, 0] + c[:, 2, 0]
        my[y0:y1 + 1, x0:x1 + 1][inside] = gx * c[:, 0, 1] + gy * c[:, 1, 1] + c[:, 2, 1]
        return mx, my

    def warp(self, image: np.ndarray, dst: np.ndarray, view: np.ndarray | None = None,
             view_size=None, depth: np.ndarray | None = None) -> np.ndarray:
        """Move the control points to `dst`. `view` (3x3) maps each output pixel to a
        point of the warped canvas (head motion, cropping); default: the canvas itself.
        `depth`: see `maps`."""
        mx, my = self.lookup(dst, view, view_size, depth)
        return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)

    def lookup(self, dst: np.ndarray, view: np.ndarray | None = None, view_size=None,
               depth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The remap lookups of `warp` (for more layers moved with the same warp)."""
        mx, my = self.maps(dst, depth)
        if view is not None:
            # Compose the lookups (not the images) so the picture is resampled once.
            # Reflecting the identity map past the canvas = reflecting the image.
            flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            size = view_size or self.size
            mx = cv2.warpPerspective(mx, view, size, flags=flags, borderMode=cv2.BORDER_REFLECT_101)
            my = cv2.warpPerspective(my, view, size, flags=flags, borderMode=cv2.BORDER_REFLECT_101)
        return mx, my


# ---------------------------------------------------------------- displacement fields

def _fall(x):
    """1 at 0, smoothly to 0 at 1 (zero slope at both ends, so no kinks in the skin)."""
    x = np.clip(x, 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * x))


def _axes(p_a, p_b):
    """Frame through two points: origin, unit u (image left -> right), unit v (down), length."""
    if p_a[0] > p_b[0]:
        p_a, p_b = p_b, p_a
    d = p_b - p_a
    n = float(np.hypot(*d))
    u = d / n
    return (p_a + p_b) / 2, u, np.array([-u[1], u[0]]), n


def eye_closure(p: np.ndarray, side: str, amount: float, upper_share: float = 0.8) -> np.ndarray:
    """Displacements that close `amount` (0..1) of the fissure of the patient's `side` eye.

    The upper lid does most of the travel (`upper_share`), the lower lid rises a
    little. The skin above and below follows with a smooth falloff, and since the
    fissure height is zero at the corners the movement tapers to nothing there.
    """
    amount = min(float(amount), 0.97)  # keep a sliver so the lid triangles never fold
    cont = face.EYE_CONTOUR[side]
    lower, upper = cont[:9], (cont[0],) + cont[9:] + (cont[8],)
    o, u, v, width = _axes(p[face.EYE_OUTER[side]], p[face.EYE_INNER[side]])
    loc = (p - o) @ np.stack([u, v]).T
    s = loc[:, 0] / width
    su, vu = loc[list(upper), 0] / width, loc[list(upper), 1]
    sl, vl = loc[list(lower), 0] / width, loc[list(lower), 1]
    ou, ol = np.argsort(su), np.argsort(sl)
    v_up = np.interp(s, su[ou], vu[ou])
    v_lo = np.interp(s, sl[ol], vl[ol])
    gap = np.maximum(v_lo - v_up, 0.0)        # zero beyond the corners
    d_up = amount * upper_share * gap          # + = down
    d_lo = -amount * (1 - upper_share) * gap
    sv = loc[:, 1]
    dv = np.where(sv <= v_up, d_up * _fall((v_up - sv) / (0.6 * width)),
                  np.where(sv >= v_lo, d_lo * _fall((sv - v_lo) / (0.4 * width)),
                           d_up + (d_lo - d_up) * (sv - v_up) / np.maximum(gap, 1e-6)))
    return dv[:, None] * v[None, :]


def corner_pull(p: np.ndarray, side: str, out: float, up: float) -> np.ndarray:
    """Displacements moving the patient's `side` mouth corner `out` and `up` (fractions
    of the mouth width), the lips and cheek following: the pull grows from the
    midline to the corner and fades beyond it and above/below the mouth line."""
    o, u, v, width = _axes(p[face.MOUTH_CORNER["left"]], p[face.MOUTH_CORNER["right"]])
    half = width / 2
    loc = (p - o) @ np.stack([u, v]).T
    sign = 1.0 if p[face.MOUTH_CORNER[side]][0] > o[0] else -1.0  # which image side this corner is on
    x = sign * loc[:, 0] / half                   # 0 at the midline, 1 at the corner
    xc = np.clip(x, 0, 1)
    w_u = np.where(x <= 0, 0.0, np.where(x <= 1, xc * xc * (3 - 2 * xc), _fall((x - 1) / 0.9)))
    sv = loc[:, 1]
    w_v = np.where(sv < 0, _fall(-sv / (1.0 * half)), _fall(sv / (0.8 * half)))
    move = sign * out * width * u - up * width * v
    return (w_u * w_v)[:, None] * move[None, :]


def brow_lift(p: np.ndarray, side: str, amount: float) -> np.ndarray:
    """Displacements raising the patient's `side` brow by `amount` of the eye's width: the
    brow and forehead rise together, the skin between brow and lid stretches (fading to
    nothing at the lid), and the lift fades out sideways beyond the brow's ends."""
    o, u, v, width = _axes(p[face.EYE_OUTER[side]], p[face.EYE_INNER[side]])
    loc = (p - o) @ np.stack([u, v]).T
    s, sv = loc[:, 0] / width, loc[:, 1]
    v_brow = float(loc[list(face.BROW[side]), 1].mean())
    v_lid = -0.15 * width                                  # just above the upper lid crease
    w_u = _fall((np.abs(s) - 0.7) / 0.8)
    w_v = np.where(sv <= v_brow, _fall((v_brow - sv) / (3.0 * width)) * 0.5 + 0.5,
                   np.clip((v_lid - sv) / max(v_lid - v_brow, 1e-6), 0.0, 1.0))
    return (w_u * w_v)[:, None] * (-amount * width * v)[None, :]


# ---------------------------------------------------------------- time envelopes

def _smooth(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def rep_envelope(t: float, start: float, end: float, ramp: float = RAMP_S) -> float:
    """0 -> 1 over `ramp` from `start`, held, back to 0 by `end`."""
    return float(min(_smooth((t - start) / ramp), _smooth((end - t) / ramp)))


def blink_envelope(t: float, start: float, end: float) -> float:
    """A blink: fast close (30 %), brief hold, slower opening (40 %)."""
    d = end - start
    return float(min(_smooth((t - start) / (0.3 * d)), _smooth((end - t) / (0.4 * d))))
