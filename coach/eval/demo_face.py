"""A drawn, plausible 478-point MediaPipe face, for tests, benchmarks and demos.

No camera or model is needed: the named contours (face oval, eyes, brows, lips,
nose bridge) are placed by hand in a face-sized frame, and every other mesh
point is the average of its mesh neighbours (a harmonic, Tutte-style embedding),
which spreads the tesselation smoothly between them. Points are normalised image
coordinates of an unmirrored 640x480 frame, like the tracker's, so the
patient's left eye (263) lies on the image's right.
"""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from coach.core import face
from coach.screen.mesh_paths import chains
from coach.resources import builtin_dir

N = 478
FRAME_W, FRAME_H = 640, 480
_PX_PER_UNIT = 105.0          # one face unit is about half the face width
_CENTRE = (0.5, 0.47)


def _mesh() -> dict:
    return json.loads((builtin_dir("data") / "face_mesh.json").read_text())


def _arc(chain, u0, u1, v0, bulge) -> dict[int, tuple[float, float]]:
    """Points of a chain spread from u0 to u1, bowed by `bulge` (sin profile) from v0."""
    n = len(chain)
    out = {}
    for i, p in enumerate(chain):
        s = i / (n - 1)
        out[p] = (u0 + (u1 - u0) * s, v0 + bulge * np.sin(np.pi * s))
    return out


def _anchors(smile: float, closure: tuple[float, float]) -> dict[int, tuple[float, float]]:
    """Hand-placed contours in face units (u: image-right, v: down)."""
    mesh = _mesh()
    a: dict[int, tuple[float, float]] = {}

    # Face oval: an egg, starting at the top of the forehead (10), going image-right.
    oval = [e[0] for e in mesh["face_oval"]]
    for k, p in enumerate(oval):
        th = -np.pi / 2 + 2 * np.pi * k / len(oval)
        v = 1.22 * np.sin(th)
        u = 0.92 * np.cos(th) * (1 - 0.22 * max(v, 0.0))
        a[p] = (u, v + 0.05)

    for side, sign, shut in (("left", 1.0, closure[0]), ("right", -1.0, closure[1])):
        uo, ui, vc = sign * 0.56, sign * 0.20, -0.22   # outer and inner eye corners
        ring = face.EYE_CONTOUR[side]
        lower, upper = list(ring[:9]), [ring[8], *ring[9:], ring[0]]
        a.update(_arc(lower, uo, ui, vc, 0.07 * (1 - 0.3 * shut)))
        a.update(_arc(upper, ui, uo, vc, -0.09 * (1 - 0.9 * shut)))
        # Iris: centre then rim (right, top, left, bottom), tucked under a closing lid.
        c, *rim = face.IRIS[side]
        cu, r = (uo + ui) / 2, 0.075 * (1 - 0.5 * shut)
        a[c] = (cu, vc)
        for p, (du, dv) in zip(rim, ((1, 0), (0, -1), (-1, 0), (0, 1))):
            a[p] = (cu + du * r, vc + dv * r)

        lo, up = chains(mesh[f"{side}_eyebrow"])
        a.update(_arc(up, sign * 0.72, sign * 0.14, -0.50, -0.10))
        a.update(_arc(lo, sign * 0.70, sign * 0.16, -0.42, -0.07))

    # Lips: four chains from the patient's right corner (image left) to the left one.
    lift, wide = 0.10 * smile, 1 + 0.15 * smile
    out_lo, out_up, in_lo, in_up = chains(mesh["lips"])
    for chain, half, bulge in ((out_lo, 0.36, 0.13), (out_up, 0.36, -0.10),
                               (in_lo, 0.30, 0.02 + 0.03 * smile), (in_up, 0.30, -0.02)):
        for p, (u, v) in _arc(chain, -half * wide, half * wide, 0.58, bulge).items():
            a[p] = (u, v - lift * (abs(u) / 0.36) ** 2)   # the corners rise most

    bridge = [168, 6, 197, 195, 5, 4, 1, 19, 94, 2]
    for i, p in enumerate(bridge):
        a[p] = (0.0, -0.22 + 0.56 * i / (len(bridge) - 1))
    for p, u, v in ((98, -0.10, 0.30), (97, -0.05, 0.33), (327, 0.10, 0.30), (326, 0.05, 0.33),
                    (64, -0.16, 0.25), (294, 0.16, 0.25), (48, -0.13, 0.18), (278, 0.13, 0.18)):
        a[p] = (u, v)
    return a


@lru_cache(maxsize=8)
def _face(smile: float, closure: tuple[float, float]) -> np.ndarray:
    anchors = _anchors(smile, closure)
    edges = {tuple(sorted(e)) for e in _mesh()["tesselation"]}
    adj = np.zeros((N, N))
    for i, j in edges:
        adj[i, j] = adj[j, i] = 1.0
    uv = np.zeros((N, 2))
    fixed = np.zeros(N, dtype=bool)
    for p, xy in anchors.items():
        uv[p], fixed[p] = xy, True
    fixed |= adj.sum(axis=1) == 0            # iris points have no tesselation edges
    free = ~fixed
    lap = np.diag(adj.sum(axis=1)) - adj
    rhs = -lap[np.ix_(free, fixed)] @ uv[fixed]
    uv[free] = np.linalg.solve(lap[np.ix_(free, free)], rhs)

    u, v = uv[:, 0], uv[:, 1]
    # A rounded depth (nearer the camera is more negative, as in MediaPipe), nose nearest.
    z = -0.35 * np.clip(1 - (u / 0.95) ** 2 - (v / 1.3) ** 2, 0, None)
    z -= 0.25 * np.exp(-((u / 0.12) ** 2 + ((v - 0.15) / 0.25) ** 2))
    pts = np.stack([_CENTRE[0] + u * _PX_PER_UNIT / FRAME_W,
                    _CENTRE[1] + v * _PX_PER_UNIT / FRAME_H,
                    z * _PX_PER_UNIT / FRAME_W], axis=1)
    return pts.astype(np.float32)


def demo_face(smile: float = 0.0, eye_closure: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """(478, 3) float32 normalised points; `smile` 0..1, `eye_closure` 0..1 per (left, right)."""
    return _face(round(float(smile), 3), tuple(round(float(c), 3) for c in eye_closure)).copy()
