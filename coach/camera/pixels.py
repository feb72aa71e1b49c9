"""What the picture shows where the face mesh sees little: the chin's grey profile and the neck
below the jaw. `read_pixels(rgb, frame) -> {name: small array}`, per frame.

MediaPipe's mesh moves the chin as a whole: a one-sided chin raise that shortens the lip-to-chin
height by ~40 % in the image reads as 0-15 % in the landmarks, on both sides nearly alike, and the
mesh has no neck at all. So these readings sample the image itself, on grids fixed in the head's
own frame as the picture shows it (`picture_frame`: the eye line and the nose ridge, in eye
distances), so that they line up from frame to frame however the head moves. The core compares them with the
patient's neutral face (`coach.core.chin`, `coach.core.neck`); nothing here decides anything.

Readings (sides in `face.SIDES` order: the patient's left, then right; head-frame x + = the
patient's left, y + = down, both in eye distances (IOD) from the nose ridge):
  chin_profile  (2, CHIN_COLS, CHIN_ROWS) grey level down narrow vertical strips on each side of
                the chin, x 0.04-0.32 IOD from the midline, y from CHIN_Y0 to CHIN_Y1 (the lower
                lip, the chin's pad and its lower edge against the neck, wherever they are on
                this face); each strip is 0.03 IOD wide
  chin_marks    (2, 3) per side, where the lower lip's border and the chin's outline are in that
                frame (the mesh's places, for the windows the core matches), and how many of the
                profile's rows, from the top, are inside the picture
  neck          (2, 5) per side, below the jaw line (0.10-0.70 IOD under the face's outline,
                0.08-0.50 IOD from the midline: the neck is about one eye distance wide): [share of the grid inside the picture, mean grey
                level (0-255), share of skin-coloured pixels (against the cheeks'), horizontal and
                vertical gradient energy]. Vertical cords raise the horizontal one.
"""
from __future__ import annotations

import cv2
import numpy as np

from coach.core import face
from coach.core.frames import LandmarkFrame
from coach.core.chin import CHIN_COLS, CHIN_ROWS, CHIN_Y0, CHIN_Y1
from coach.core.measures import head_frame
from coach.core.neck import NECK_FEATURES

_CHIN_X = np.linspace(0.04, 0.32, CHIN_COLS)[:, None] + np.array([-0.015, 0.0, 0.015])[None, :]  # (cols, 3)
_CHIN_Y = np.linspace(CHIN_Y0, CHIN_Y1, CHIN_ROWS)
_NECK_X = np.linspace(0.08, 0.50, 24)
_NECK_DY = np.linspace(0.10, 0.70, 24)
# The face's outline below the mouth, from the chin's midpoint out to each side (anatomical sides).
_JAW = {"left": (152, 377, 400, 378, 379, 365, 397, 288, 361), "right": (152, 148, 176, 149, 150, 136, 172, 58, 132)}
_LOWER_LIP = {"left": (17, 314, 405, 321), "right": (17, 84, 181, 91)}
_CHEEKS = (205, 425, 50, 280, 187, 411)       # the cheeks' skin, for the neck's colour reference
SKIN_CHROMA_TOL = 14.0    # Cr and Cb (8-bit) this close to the cheeks' count as skin
SKIN_LUMA_MIN = 0.45      # … and at least this fraction of the cheeks' brightness (a beard, a shadow are not)


def read_pixels(rgb: np.ndarray, frame: LandmarkFrame) -> dict[str, np.ndarray]:
    """The pixel readings of one tracked frame (empty when it has no face)."""
    if frame.points is None:
        return {}
    p = frame.pixels().astype(np.float64)
    o, ax, ay = picture_frame(p)
    q = (p[:, :2] - o) @ np.linalg.inv(np.stack([ax, ay]))   # picture-frame coordinates, IOD units
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb

    def grid(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image pixel maps (float32) for head-frame points xs, ys (same shape)."""
        mx = o[0] + xs * ax[0] + ys * ay[0]
        my = o[1] + xs * ax[1] + ys * ay[1]
        return mx.astype(np.float32), my.astype(np.float32)

    def sample(img: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
        return cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)

    out: dict[str, np.ndarray] = {}
    profile = np.empty((2, CHIN_COLS, CHIN_ROWS), np.float32)
    neck = np.empty((2, NECK_FEATURES), np.float32)
    ref = _skin_reference(rgb, p)
    h, w = grey.shape[:2]
    chin_in = [0.0, 0.0]
    for si, side in enumerate(face.SIDES):
        sign = 1.0 if side == "left" else -1.0
        xs, ys = np.meshgrid(sign * _CHIN_X.ravel(), _CHIN_Y)                  # (rows, cols * 3)
        mx, my = grid(xs, ys)
        profile[si] = sample(grey, mx, my).reshape(CHIN_ROWS, CHIN_COLS, 3).mean(axis=2).T
        row_in = ((mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)).all(axis=1)
        chin_in[si] = float(np.argmin(row_in)) if not row_in.all() else float(CHIN_ROWS)   # rows inside, from the top
        # The neck: below this side's outline.
        jx, jy = q[list(_JAW[side]), 0] * sign, q[list(_JAW[side]), 1]
        order = np.argsort(jx)
        under = np.interp(_NECK_X, jx[order], jy[order])
        nxs, nys = np.meshgrid(sign * _NECK_X, _NECK_DY)
        nys = nys + under[None, :]
        mx, my = grid(nxs, nys)
        inside = float(np.mean((mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)))
        colour = sample(rgb, mx, my)
        g = sample(grey, mx, my)
        neck[si] = (inside, float(g.mean()), _skin_share(colour, ref), *_energy(g))
    out["chin_profile"] = profile
    out["chin_marks"] = np.array([[q[list(_LOWER_LIP[sd]), 1].max(), q[list(_JAW[sd][:3]), 1].mean(), chin_in[si]]
                                  for si, sd in enumerate(face.SIDES)], np.float32)
    out["neck"] = neck
    return out


def picture_frame(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The head's frame in the picture: origin (the nose ridge), and one eye distance along the eye
    line (x, towards the patient's left) and square to it (y, down), in image pixels. In the image
    plane, so that the grids and the landmarks' places in them agree (the 3-D head frame's y axis
    leans out of the picture with the nose)."""
    _, rot, _ = head_frame(p)
    eye_c = (p[list(face.EYE_OUTER.values()), :2] + p[list(face.EYE_INNER.values()), :2]) * 0.5
    ax = eye_c[0] - eye_c[1]
    ay = np.array([-ax[1], ax[0]])
    origin = p[list(face.RIGID_MIDLINE), :2].mean(axis=0)
    return origin, ax, ay


def _energy(g: np.ndarray) -> tuple[float, float]:
    """Mean absolute horizontal and vertical differences of a lightly smoothed grey patch, over its
    brightness (so a dimmer picture does not read as a smoother neck)."""
    s = cv2.GaussianBlur(g, (3, 3), 0.8)
    lum = max(float(s.mean()), 1.0)
    return (float(np.abs(np.diff(s, axis=1)).mean()) / lum * 100.0,
            float(np.abs(np.diff(s, axis=0)).mean()) / lum * 100.0)


def _skin_reference(rgb: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The cheeks' mean Y, Cr, Cb (8-bit), from a few pixels around cheek landmarks."""
    h, w = rgb.shape[:2]
    vals = []
    for i in _CHEEKS:
        x, y = int(round(p[i, 0])), int(round(p[i, 1]))
        if 2 <= x < w - 2 and 2 <= y < h - 2:
            vals.append(rgb[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3))
    if not vals:
        return np.array([np.nan, np.nan, np.nan], np.float32)
    px = np.concatenate(vals).reshape(1, -1, 3).astype(np.uint8)
    return cv2.cvtColor(px, cv2.COLOR_RGB2YCrCb).reshape(-1, 3).astype(np.float32).mean(0)


def _skin_share(colour: np.ndarray, ref: np.ndarray) -> float:
    """Share of the patch's pixels that look like the cheeks' skin (chroma close, not much darker)."""
    if not np.all(np.isfinite(ref)):
        return 0.0
    ycc = cv2.cvtColor(np.clip(colour, 0, 255).astype(np.uint8), cv2.COLOR_RGB2YCrCb).astype(np.float32)
    ok = ((np.abs(ycc[..., 1] - ref[1]) <= SKIN_CHROMA_TOL) & (np.abs(ycc[..., 2] - ref[2]) <= SKIN_CHROMA_TOL)
          & (ycc[..., 0] >= SKIN_LUMA_MIN * ref[0]))
    return float(ok.mean())
