"""Rendering of the synthetic clips: the frames of one clip of one face (`Renderer`), written
with their truth by `render`.

Head motion (turn, tilt, approach) is one global homography per frame, folded into
the warp's lookup so the image is resampled once. A 3-D head turn or nod (`yaw`, `pitch`,
`turn_hold`: the eval set) rotates the landmarks themselves about the neck, using
MediaPipe's depth, because the tracker reads a turned flat image as barely turned. A crop
(`Clip.crop`) moves the output window over the canvas so its edge cuts off the forehead,
the chin or one side of the face, leaving every landmark the measures read inside.
"""
from __future__ import annotations

import json
import math
import os
import zlib
from pathlib import Path

import cv2
import numpy as np

from coach.core import face
from coach.eval.faces import FPS, IRIS, RAMP_S, SIZE, Face, iod_px
from coach.eval.recipes import (BROW, MOTIONS_3D, NECK_CORNER, NECK_CROP, PIVOT_IOD, PUCKER, RINGS, SMILE, SNARL,
                                SWALLOW_S, SWALLOW_TUCK, TALK_DROP, TALK_HZ, Clip, truth)

# Where a crop's edge falls: this far from the last landmark the measures read towards the face's
# outline (forehead: from the brows' top to the top of the mesh; chin: from the lower lip to the
# chin; a side: from the eye's outer corner to the cheek's outline).
CROP_AT = {"forehead": 0.5, "chin": 0.5, "left": 0.6, "right": 0.6}

from coach.eval.warp import Warper, _smooth, blink_envelope, brow_lift, corner_pull, eye_closure, rep_envelope
from coach.eval.lower_face import chin_raise, jaw_drop, lip_eversion, lip_lift
from coach.eval import overlays

DIMPLE_DEPTH = 0.22      # chin dimples darken their pits by up to this, x the chin raise's share of 0.45

class Renderer:
    """Renders one clip of one face, frame by frame."""

    def __init__(self, clip: Clip, src: Face):
        self.clip, self.face = clip, src
        self.ctrl = np.array([i for i in range(len(src.points)) if i not in IRIS])
        self.p = src.points
        self.warper = Warper(self.p[self.ctrl], src.image.shape[1::-1])
        self.n = int(round(clip.duration * FPS))
        pts = self.p
        self.centre = pts[[face.NASION, face.NOSE_TIP]].mean(0)
        self.face_w = float(np.ptp(pts[:, 0]))
        self.face_h = float(np.ptp(pts[:, 1]))
        self.lash = {s: _lash_colour(src.image, pts[list(face.EYE_CONTOUR[s])]) for s in face.SIDES}
        self.iod = iod_px(pts)
        seed = zlib.crc32(clip.face.encode())
        # Layers drawn once on the neutral canvas and moved by the face's own warp.
        self.dimples = None
        for k, (side, amt) in enumerate(clip.chin.items()):
            lay = min(1.0, amt / 0.45) * overlays.dimple_layer(src.image.shape, pts, side, seed + k)
            self.dimples = lay if self.dimples is None else self.dimples + lay
        self.beard = overlays.beard_layer(src.image.shape, pts, seed) if clip.cover == "beard" else None
        # Control points under the jaw, so the chin's and jaw's movements fade smoothly into the neck.
        self.extra = np.zeros((0, 2))
        if (clip.chin or clip.neck or clip.talk or clip.swallow) and clip.motion not in MOTIONS_3D:
            self.extra = _under_jaw(pts, src.image.shape[1::-1])
            self.warper = Warper(np.concatenate([self.p[self.ctrl], self.extra]), src.image.shape[1::-1])
        # The output window on the canvas: its top-left corner and its scale (< 1: zoomed in).
        self.window = (_crop_window(clip.crop, pts, src.image.shape[1::-1]) if clip.crop
                       else (*src.origin, 1.0))
        self.ring = np.zeros((0, 2))
        if clip.motion in MOTIONS_3D:
            if src.depth is None:
                raise ValueError(f"{clip.name}: a 3-D head turn needs the face's depth (load_faces(depth=True))")
            # The head turns about a vertical axis through the neck: behind the face's
            # landmarks by PIVOT_IOD eye distances (the cheek edges are ~1.1 behind their centroid).
            self.pivot = (float(pts[:, 0].mean()), float(src.depth.mean()) + PIVOT_IOD * iod_px(pts))
            # A nod turns about a horizontal axis through the top of the neck, level with the nose tip.
            self.pivot_y = float(pts[face.NOSE_TIP, 1])
            # Rings of extra control points around the face (hair, ears, neck, then the
            # scenery) follow the face outline's movement less and less, so the skin between
            # the turned face and the still frame border stretches smoothly instead of tearing.
            hull = self.ctrl[cv2.convexHull(pts[self.ctrl].astype(np.float32), returnPoints=False).ravel()]
            self.depth = _smooth_rim(pts, src.depth, hull)
            c = pts[hull].mean(0)
            w, h = src.image.shape[1::-1]
            ring, of, weight, depth = [], [], [], []
            for k, (scale, follow) in enumerate(RINGS):
                q = c + scale * (pts[hull] - c)
                ok = (q[:, 0] > 4) & (q[:, 0] < w - 5) & (q[:, 1] > 4) & (q[:, 1] < h - 5)
                ring.append(q[ok])
                of.append(hull[ok])
                weight.append(np.full(ok.sum(), follow))
                depth.append(np.full(ok.sum(), 1e4 * (k + 1)))   # behind the face, outer rings farther
            self.ring, self.ring_of = np.concatenate(ring), np.concatenate(of)
            self.ring_w, self.ring_depth = np.concatenate(weight), np.concatenate(depth)
            self.warper = Warper(np.concatenate([self.p[self.ctrl], self.ring]), src.image.shape[1::-1])

    def closures(self, t: float) -> dict[str, float]:
        """Fraction of each eye's fissure closed at time t."""
        c = self.clip
        rep = max((rep_envelope(t, a, b) for a, b in c.reps), default=0.0)
        eyes = rep_envelope(t, *c.eye_window) if c.eye_window else rep
        blink = max((blink_envelope(t, a, b) for a, b in c.blinks), default=0.0)
        out: dict[str, float] = {}
        for side in face.SIDES:
            closure = 0.97 * rep if c.prime == "closure" else c.eyes.get(side, 0.0) * eyes
            out[side] = 1 - (1 - closure) * (1 - blink)
        return out

    def points(self, t: float) -> np.ndarray:
        c, p = self.clip, self.p
        d = np.zeros_like(p)
        rep = max((rep_envelope(t, a, b) for a, b in c.reps), default=0.0)
        for side, closure in self.closures(t).items():
            if closure > 0:
                d += eye_closure(p, side, closure)
            if rep > 0 and c.prime == "smile":
                d += corner_pull(p, side, SMILE[0] * c.smile_scale * rep, SMILE[1] * c.smile_scale * rep)
            elif rep > 0 and c.prime == "pucker":
                d += corner_pull(p, side, -PUCKER * c.pucker_scale * rep, 0.0)
            elif rep > 0 and c.prime == "brow":
                d += brow_lift(p, side, BROW * rep)
            elif rep > 0 and c.prime == "snarl":
                d += lip_lift(p, side, SNARL * rep)
            amt = c.corner.get(side, 0.0) * rep
            if amt > 0:
                # Ocular-oral synkinesis pulls the corner up and out (zygomaticus).
                d += corner_pull(p, side, 0.6 * amt, 0.8 * amt)
        return p + d + self._lower(p, t, rep)

    def _lower(self, p: np.ndarray, t: float, rep: float) -> np.ndarray:
        """The lower face's displacements of the points `p` (the landmarks first) at time t: the
        chin raised and the lower lip everted (mentalis), the mouth corner pulled down and out
        (platysma), talking, a swallow's tuck."""
        c = self.clip
        d = np.zeros_like(p)
        if rep <= 0:
            return d
        for side, amt in c.chin.items():
            d += chin_raise(p, side, amt * rep) + lip_eversion(p, side, amt * rep)
        for side, amt in c.neck.items():
            d += corner_pull(p, side, NECK_CORNER[0] * amt * rep, -NECK_CORNER[1] * amt * rep)
        if c.talk:
            d += jaw_drop(p, TALK_DROP * self.iod * rep * 0.5 * (1 - math.cos(2 * math.pi * TALK_HZ * t)))
        if c.swallow:
            d += jaw_drop(p, SWALLOW_TUCK * self.iod * math.sin(math.pi * self.swallow_phase(t)[1]),
                          lips_closed=True)
        return d

    def swallow_phase(self, t: float) -> tuple[float, float]:
        """(how far up the neck the larynx is, 0..1; how far through the swallow, 0..1) at time t:
        one swallow of SWALLOW_S seconds, 0.3 s into each rep's hold."""
        for a, b in self.clip.reps if self.clip.swallow else ():
            x = (t - (a + RAMP_S + 0.3)) / SWALLOW_S
            if 0 < x < 1:
                return float(_smooth(x / 0.55) if x < 0.55 else _smooth((1 - x) / 0.45)), float(x)
        return 0.0, 0.0

    def rep(self, t: float) -> float:
        return max((rep_envelope(t, a, b) for a, b in self.clip.reps), default=0.0)

    def turned(self, q: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """3-D head turn or nod (motions in MOTIONS_3D): the landmarks, moved by the expression
        in the image plane and at their neutral depth, rotated about the neck's vertical axis
        (a turn) or a horizontal one (`pitch`, + = nodding down) and projected orthographically.
        Returns the 2-D points and their new depth."""
        c = self.clip
        th = math.radians(c.motion_amount * c.motion_gain(t))
        px, pz = self.pivot
        out = q.copy()
        if c.motion == "pitch":
            y, z = q[:, 1] - self.pivot_y, self.depth - pz
            out[:, 1] = self.pivot_y + y * math.cos(th) - z * math.sin(th)
            return out, pz + y * math.sin(th) + z * math.cos(th)
        x, z = q[:, 0] - px, self.depth - pz
        out[:, 0] = px + x * math.cos(th) + z * math.sin(th)
        return out, pz - x * math.sin(th) + z * math.cos(th)

    def homography(self, t: float) -> np.ndarray:
        """Head motion at time t, as a map of canvas pixels."""
        c = self.clip
        cx, cy = self.centre
        g = c.motion_gain(t)
        T = lambda x, y: np.array([[1, 0, x], [0, 1, y], [0, 0, 1.0]])
        H = np.eye(3)
        if c.motion == "turn":
            # Yaw as a rotation of the face plane about a vertical axis through the face,
            # seen in perspective from 2.5 face widths: one half narrows and shrinks.
            th, dist = math.radians(c.motion_amount * g), 2.5 * self.face_w
            M = np.array([[dist * math.cos(th), 0, 0], [0, dist, 0], [math.sin(th), 0, dist]])
            H = T(cx, cy) @ M @ T(-cx, -cy)
        elif c.motion == "tilt":
            # Roll about the neck, below the chin.
            pivot = (cx, cy + 0.8 * self.face_h)
            R = cv2.getRotationMatrix2D(pivot, -c.motion_amount * g, 1.0)
            H = np.vstack([R, [0, 0, 1]])
        elif c.motion == "approach":
            s = 1 + (c.motion_amount - 1) * g
            H = T(cx, cy) @ np.diag([s, s, 1.0]) @ T(-cx, -cy)
        return H

    def targets(self, t: float, turn: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(all 478 moved landmarks, the warp's control-point targets, their depth or None).
        `turn=False` leaves out a 3-D head turn (the expression alone)."""
        dst = self.points(t)
        if self.clip.motion not in MOTIONS_3D:
            if len(self.extra):
                q = np.concatenate([self.p, self.extra])
                extra = self.extra + self._lower(q, t, self.rep(t))[len(self.p):]
                return dst, np.concatenate([dst[self.ctrl], extra]), None
            return dst, dst[self.ctrl], None
        z = self.depth
        if turn:
            dst, z = self.turned(dst, t)
        ring = self.ring + self.ring_w[:, None] * (dst - self.p)[self.ring_of]
        return (dst, np.concatenate([dst[self.ctrl], ring]),
                np.concatenate([z[self.ctrl], self.pivot[1] + self.ring_depth]))

    def frame(self, i: int) -> np.ndarray:
        t = i / FPS
        ox, oy, s = self.window
        H = self.homography(t)
        view = np.linalg.inv(H) @ np.array([[s, 0, ox], [0, s, oy], [0, 0, 1.0]])
        dst, ctrl, depth = self.targets(t)
        mx, my = self.warper.lookup(ctrl, view, SIZE, depth)
        out = cv2.remap(self.face.image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        out = self._lash_lines(out, dst, H, self.closures(t))
        return self._lower_overlays(out, t, dst, H, (mx, my))

    def output_points(self, pts: np.ndarray, H: np.ndarray) -> np.ndarray:
        """Canvas points (after the head motion H) in the output frame's pixels."""
        q = np.c_[pts[:, :2], np.ones(len(pts))] @ H.T
        return (q[:, :2] / q[:, 2:] - self.window[:2]) / self.window[2]

    def _lower_overlays(self, out: np.ndarray, t: float, dst: np.ndarray, H: np.ndarray,
                        lookup: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """What the warp cannot show: chin dimples, neck bands, a swallow, covers, a dark neck."""
        c = self.clip
        if not (c.chin or c.neck or c.swallow or c.cover or c.dark):
            return out
        rep = self.rep(t)
        if self.dimples is not None and rep > 0:
            lay = cv2.remap(self.dimples, lookup[0], lookup[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            out = np.clip(out * (1 - DIMPLE_DEPTH * rep * lay[..., None]) + 0.5, 0, 255).astype(np.uint8)
        q = self.output_points(dst, H)
        for side, amt in c.neck.items():
            out = overlays.neck_bands(out, q, side, amt * rep)
        if c.swallow:
            out = overlays.swallow_bump(out, q, self.swallow_phase(t)[0])
        if self.beard is not None:
            lay = cv2.remap(self.beard, lookup[0], lookup[1], cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT).astype(np.float32)
            a = lay[..., 3:] / 255
            out = np.clip(out * (1 - a) + lay[..., :3] * a + 0.5, 0, 255).astype(np.uint8)
        elif c.cover:
            # A collar or scarf sits on the body: where the neutral neck is, whatever the head does.
            out = overlays.neck_cover(out, self.output_points(self.p, np.eye(3)), c.cover)
        if c.dark:
            out = overlays.darken_neck(out, q)
        return out

    def _lash_lines(self, img: np.ndarray, dst: np.ndarray, H: np.ndarray, closures: dict) -> np.ndarray:
        """Darken the line where nearly closed lids meet. The warp squeezes the whole
        fissure (white sclera included) into a sub-pixel sliver, which reads as a
        bright seam; real closed lids show a dark lash line."""
        for side, c in closures.items():
            a = 0.7 * float(_smooth((c - 0.6) / 0.35))
            if a <= 0:
                continue
            cont = face.EYE_CONTOUR[side]
            line = dst[[cont[8], *cont[9:], cont[0]]]            # inner corner, upper lid, outer corner
            q = np.c_[line, np.ones(len(line))] @ H.T
            q = (q[:, :2] / q[:, 2:] - self.window[:2]) / self.window[2]
            width = float(np.linalg.norm(q[-1] - q[0]))
            m = np.zeros(SIZE[::-1], np.float32)
            cv2.polylines(m, [np.round(q * 16).astype(np.int32)], False, 1.0,
                          max(1, round(width / 18)), cv2.LINE_AA, shift=4)
            m = cv2.GaussianBlur(m, (0, 0), 0.6)[..., None] * a
            img = (img * (1 - m) + self.lash[side] * m + 0.5).astype(np.uint8)
        return img


def _crop_window(crop: str, p: np.ndarray, canvas) -> tuple[float, float, float]:
    """The output window (left, top, scale) whose edge cuts off `crop` (at CROP_AT). The window
    moves over the canvas, and zooms in (the patient sits closer) where moving it alone would run
    past the canvas on the opposite side."""
    (w, h), (cw, ch) = SIZE, canvas
    k = CROP_AT.get(crop, 0.0)
    if crop in ("forehead", "chin", NECK_CROP):
        if crop == "forehead":
            brow = p[[i for s in face.SIDES for i in face.BROW[s]], 1].min()
            cut = brow - k * (brow - p[:, 1].min())
            s = min(1.0, (ch - cut) / h)
        else:
            lip = p[face.LOWER_LIP_MID, 1]
            # NECK_CROP: the lower edge just under the chin (the neck out of the picture).
            cut = lip + k * (p[:, 1].max() - lip) if crop == "chin" else p[:, 1].max() + 0.12 * iod_px(p)
            s = min(1.0, cut / h)
        s = max(s, 0.6)
        top = cut if crop == "forehead" else cut - s * h
        return float(np.clip(p[:, 0].mean() - s * w / 2, 0, max(0, cw - s * w))), float(top), float(s)
    eye = p[face.EYE_OUTER[crop], 0]
    right = eye > p[face.NASION, 0]        # this side is on the image's right
    cut = eye + k * (p[:, 0].max() - eye) if right else eye - k * (eye - p[:, 0].min())
    s = max(0.6, min(1.0, (cut if right else cw - cut) / w))
    left = cut - s * w if right else cut
    return float(left), float(np.clip(p[:, 1].mean() - s * h / 2, 0, max(0, ch - s * h))), float(s)


def _under_jaw(p: np.ndarray, canvas, depths=(0.25, 0.6, 1.0)) -> np.ndarray:
    """Points below the jaw's contour (`depths` IOD straight down the face from each of its
    landmarks), inside the canvas and 0.15 IOD from its edge (three times a talking jaw's drop),
    and 0.15 IOD off the face mesh (0.2 IOD from any landmark)."""
    from coach.eval.lower_face import JAW

    _, _, v, iod = overlays.head_axes(p)
    under = [i for i in JAW if i not in (132, 58, 288, 361)]          # not from the jaw angles
    q = np.concatenate([p[under] + k * iod * v for k in depths])
    w, h = canvas
    m = max(5.0, 0.15 * iod)
    q = q[(q[:, 0] > m) & (q[:, 0] < w - 1 - m) & (q[:, 1] > m) & (q[:, 1] < h - 1 - m)]
    # Off the face: a turned face's jaw angle has cheek landmarks below it.
    hull = cv2.convexHull(p[:468].astype(np.float32))
    off = np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), True) for x, y in q]) < -0.15 * iod
    q = q[off]
    near = np.sqrt(((q[:, None, :] - p[None, :468, :2]) ** 2).sum(-1)).min(1)
    return q[near > 0.2 * iod]


def _smooth_rim(p: np.ndarray, z: np.ndarray, hull: np.ndarray) -> np.ndarray:
    """MediaPipe's depth with its rim smoothed: a quadratic surface fitted to all the
    landmarks replaces the raw z at the face outline, blending back to the raw z (nose,
    brows, lips) within 0.4 eye distances inside it. The raw z along the outline zig-zags
    (a bulging cheek puts inner points on the hull), which a turn would turn into a
    saw-tooth silhouette."""
    x, y = (p[:, 0] - p[:, 0].mean()), (p[:, 1] - p[:, 1].mean())
    A = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], 1)
    coef, *_ = np.linalg.lstsq(A, z, rcond=None)
    fit = A @ coef
    poly = p[hull].astype(np.float32).reshape(-1, 1, 2)
    inside = np.array([cv2.pointPolygonTest(poly, (float(a), float(b)), True) for a, b in p[:, :2]])
    w = _smooth(inside / (0.4 * iod_px(p)))
    return fit + w * (z - fit)


def _lash_colour(image: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """Colour of the darkest pixels inside the eye (lashes, pupil): the lash line's."""
    m = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(contour).astype(np.int32)], 1)
    px = image[m > 0].astype(np.float32)
    if len(px) == 0:
        return np.array([40, 40, 50], np.float32)
    lum = px @ np.array([0.114, 0.587, 0.299], np.float32)
    return np.median(px[lum <= np.percentile(lum, 15)], 0)


def render(clip: Clip, src: Face, out_dir: str | os.PathLike) -> Path:
    """Write NAME.mp4 and NAME.truth.json into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    r = Renderer(clip, src)
    path = out_dir / f"{clip.name}.mp4"
    tmp = out_dir / f".{clip.name}.part.mp4"
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), FPS, SIZE)
    if not writer.isOpened():
        raise RuntimeError("cannot open an mp4v video writer")
    try:
        for i in range(r.n):
            writer.write(r.frame(i))
    finally:
        writer.release()
    os.replace(tmp, path)
    info = truth(clip, src.source, iod_px(src.points))
    (out_dir / f"{clip.name}.truth.json").write_text(json.dumps(info, indent=1) + "\n")
    return path
