"""Per-side facial measures from the 478 landmarks: `measure(frame) -> Measures`.

Every measure is taken in the head's own frame, built from landmarks that
expressions barely move (eye corners, nose ridge), and scaled by the distance
between the eye centres (IOD). So the numbers do not change when the head moves,
turns moderately, tilts or comes closer. 3-D points use MediaPipe's z, which is in
roughly the same units as x.

Columns are the patient's anatomical sides, in `face.SIDES` order (left, right).
Per-side decisions never use blendshapes: MediaPipe couples left and right
blendshapes, and eyeWide, noseSneer and cheekPuff stay near 0 (we keep them as
extra signals only).

Measures (raw, scale-free, IOD units):
  eye_opening     palpebral fissure height: mean of three upper/lower lid pair distances
  brow_height     brow's upper edge above the same side's inner eye corner
  commissure_x    mouth corner's lateral distance from the facial midline
  commissure_y    mouth corner's height (negative: below the nose ridge, the origin)
  upper_lip_y     height of the upper lip over the canine (lifts in a snarl)
  mouth_width     corner-to-corner distance (same on both sides)
  mouth_open      inner-lip gap (same on both sides)
  iris_diameter   for millimetres: the iris is 11.77 mm across on average (Emotrics)
  lower_lip_y     the lower lip's outer border, its lowest point on this side (+ = down)
  chin_y          the chin's outline below this half of the lip (+ = down)
  lower_lip_red   the lower lip's red height on this side (inner to outer border): a lip that turns out
                  shows more of it
  chin_pad        the chin's pad: from the fold under the lower lip to the outline (a raised chin
                  bunches it up)

The chin measures come from the mesh, which moves the chin as a whole (see `coach.core.chin`): they
are recorded and shown, but the chin is watched from the picture (`Measures.readings`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from coach.core import face
from coach.core.frames import LandmarkFrame

IRIS_DIAMETER_MM = 11.77  # mean horizontal visible iris diameter, as used by Emotrics (Guarin et al. 2018)

MEASURES = ("eye_opening", "brow_height", "commissure_x", "commissure_y",
            "upper_lip_y", "mouth_width", "mouth_open", "iris_diameter",
            "lower_lip_y", "chin_y", "lower_lip_red", "chin_pad")
INDEX = {name: i for i, name in enumerate(MEASURES)}

_L, _R = face.SIDES  # "left", "right"
_LID_UP = np.array([[u for u, _ in face.EYE_LIDS[s]] for s in face.SIDES])    # (2,3)
_LID_LO = np.array([[lo for _, lo in face.EYE_LIDS[s]] for s in face.SIDES])  # (2,3)
_BROW = np.array([face.BROW[s] for s in face.SIDES])                          # (2,5)
_CORNER = np.array([face.MOUTH_CORNER[s] for s in face.SIDES])               # (2,)
_ULIP = np.array([face.UPPER_LIP_LATERAL[s] for s in face.SIDES])            # (2,2)
_IRIS_H = np.array([[face.IRIS[s][1], face.IRIS[s][3]] for s in face.SIDES])  # horizontal rim pair
_OUTER = np.array([face.EYE_OUTER[s] for s in face.SIDES])
_INNER = np.array([face.EYE_INNER[s] for s in face.SIDES])
_NOSE = np.array(face.RIGID_MIDLINE)
_LLIP_OUT = np.array([face.LOWER_LIP_OUTER[s] for s in face.SIDES])
_LLIP_IN = np.array([face.LOWER_LIP_INNER[s] for s in face.SIDES])
_CHIN_OUT = np.array([face.CHIN_OUTLINE[s] for s in face.SIDES])
_CHIN_FOLD = np.array([face.CHIN_FOLD[s] for s in face.SIDES])


@dataclass(frozen=True)
class Measures:
    """One frame's measures: `values[INDEX[name], side_col]`; `face` False when no face."""

    t: float
    face: bool
    values: np.ndarray | None = None  # (len(MEASURES), 2) float64
    iod_px: float = 0.0               # eye-centre distance in pixels (for mm and quality checks)
    centre: tuple[float, float] = (0.5, 0.5)  # face centre in normalised image coordinates
    yaw_deg: float = 0.0               # head pose (see `head_pose`): + = turned towards the patient's left
    pitch_deg: float = 0.0             # nose line against the camera axis; only changes from neutral matter
    roll_deg: float = 0.0              # in-plane tilt of the eye line
    margin: float = 1.0                # least distance of any landmark inside the frame edge (fraction of
                                       # the frame; < 0: part of the face is outside the picture)
    origin: tuple[float, float] = (0.0, 0.0)  # head-frame origin in pixels (for head speed)
    blendshapes: dict[str, Any] | None = None
    # How far inside the picture the landmarks of each point set are (`face.MEASURE_POINTS`,
    # "pose" for `face.POSE_POINTS`, "face" for the whole mesh): set -> (least distance from the
    # frame edge in eye distances, < 0 outside; the part of the face at that edge: "forehead",
    # "chin", "left" or "right", the patient's anatomical side). None: unknown (all inside).
    inside: dict[str, tuple[float, str]] | None = None
    readings: Any = None    # the frame's pixel readings (`LandmarkFrame.readings`), or None

    def get(self, name: str, side: str) -> float:
        assert self.values is not None, "a frame without a face has no measures"
        return float(self.values[INDEX[name], face.SIDES.index(side)])


def head_frame(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Origin, rotation (rows = head x, y, z axes) and IOD from rigid landmarks.

    x runs from the patient's right eye to their left eye, y down the nose, z out of
    the face. Eye corners and the nose ridge hardly move with expression, which is
    why they, and not the lids or lips, define the frame.
    """
    eye_c = (p[_OUTER] + p[_INNER]) * 0.5          # (2,3) left, right eye centres
    x = eye_c[0] - eye_c[1]
    iod = float(np.sqrt(x @ x))
    x = x / iod
    down = p[face.NOSE_TIP] - p[face.NASION]
    y = down - (down @ x) * x
    y = y / np.sqrt(y @ y)
    z = np.cross(x, y)
    # The nose ridge is the origin: eye closure drags the canthi down a little, and an
    # origin between the eyes would make both mouth corners look raised.
    origin = p[_NOSE].mean(axis=0)
    return origin, np.stack([x, y, z]), iod


def measure(frame: LandmarkFrame) -> Measures:
    if frame.points is None:
        return Measures(frame.t, False)
    p = frame.pixels().astype(np.float64)
    origin, rot, iod = head_frame(p)
    q = (p - origin) @ rot.T / iod                  # head-frame coordinates, IOD units

    v = np.empty((len(MEASURES), 2))
    lids = q[_LID_UP] - q[_LID_LO]                  # (2,3,3)
    v[0] = np.sqrt((lids ** 2).sum(-1)).mean(-1)
    v[1] = q[_INNER][:, 1] - q[_BROW][..., 1].mean(-1)   # above this side's inner canthus
    corners = q[_CORNER]
    v[2] = np.abs(corners[:, 0])
    v[3] = -corners[:, 1]
    v[4] = -q[_ULIP][..., 1].mean(-1)
    mw = corners[0] - corners[1]
    v[5] = np.sqrt(mw @ mw)
    gap = q[face.INNER_LIP_TOP] - q[face.INNER_LIP_BOTTOM]
    v[6] = np.sqrt(gap @ gap)
    # The horizontal rim pair: the lids clip the iris's top and bottom, never its sides.
    ih = q[_IRIS_H[:, 0]] - q[_IRIS_H[:, 1]]
    v[7] = np.sqrt((ih ** 2).sum(-1))
    v[8] = q[_LLIP_OUT][..., 1].max(-1)
    v[9] = q[_CHIN_OUT][..., 1].mean(-1)
    v[10] = q[_LLIP_OUT][..., 1].mean(-1) - q[_LLIP_IN][..., 1].mean(-1)
    v[11] = v[9] - q[_CHIN_FOLD][..., 1].mean(-1)
    yaw, pitch, roll = head_pose(rot)
    c = frame.points[face.NASION]
    xy = frame.points[:, :2]
    margin = float(min(xy.min(), 1.0 - xy.max()))
    return Measures(frame.t, True, v, iod, (float(c[0]), float(c[1])), yaw, pitch, roll, margin,
                    (float(origin[0]), float(origin[1])), dict(frame.blendshapes) if frame.blendshapes else None,
                    inside(p, q, frame.width, frame.height, iod), frame.readings)


_SETS = {"pose": np.array(face.POSE_POINTS), **{k: np.array(v) for k, v in face.MEASURE_POINTS.items()},
         "face": np.arange(468)}     # the whole mesh (not the irises): is any of the face out of the picture?


def inside(p: np.ndarray, q: np.ndarray, width: int, height: int, iod: float) -> dict[str, tuple[float, str]]:
    """Per point set (`_SETS`): how far its landmarks are inside the picture, in eye distances
    (the least of them; < 0: outside), and which part of the face is at that edge. Top and
    bottom edges are the forehead and the chin; a side edge is named by the anatomical side of
    the landmark there (its head-frame x: + is the patient's left), so mirroring cannot swap it."""
    x, y = p[:, 0], p[:, 1]
    d = np.stack([y, height - y, x, width - x])              # (4 edges, points) in pixels
    edge = d.argmin(axis=0)
    near = d[edge, np.arange(len(p))]
    scale = 1.0 / max(iod, 1e-6)
    out = {}
    for name, idx in _SETS.items():
        k = int(idx[np.argmin(near[idx])])
        e = edge[k]
        part = ("forehead", "chin")[e] if e < 2 else ("left" if q[k, 0] > 0 else "right")
        out[name] = (float(near[k]) * scale, part)
    return out


def head_pose(rot: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch and roll in degrees from the head frame's axes (rows of `rot`).

    Yaw and roll come from the eye line (x), pitch from the nose line (y). The nose line
    leans out of the face even when the head is upright, so pitch is only read as a
    change from the patient's neutral pose."""
    x, y = rot[0], rot[1]
    yaw = float(np.degrees(np.arctan2(x[2], x[0])))
    roll = float(np.degrees(np.arctan2(x[1], x[0])))
    pitch = float(np.degrees(np.arctan2(y[2], y[1])))
    return yaw, pitch, roll


def mm_per_iod(iris_diameter_iod: float) -> float:
    """Millimetres per IOD unit, from the iris (Emotrics' calibration)."""
    return IRIS_DIAMETER_MM / iris_diameter_iod if iris_diameter_iod > 0 else float("nan")
