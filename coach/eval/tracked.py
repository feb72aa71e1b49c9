"""What the tracker sees in a synthetic clip: landmark streams tracked afresh or read back,
and the lid gaps, mouth width and corner movement measured from them against the truth.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from coach.core import face
from coach.eval.faces import FPS, RAMP_S
from coach.eval.recipes import POSE_AWAY_DEG

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
    from coach.camera.tracker import Tracker

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
    found = np.array([p is not None for p in pts])
    a, yaw = _readings(pts)
    base = (ts < info["baseline_s"][1]) & found
    hold = _within(ts, [(r["start_s"] + RAMP_S, r["end_s"] - RAMP_S) for r in info["reps"]])
    window = (info.get("injected") or {}).get("eye_window_s")
    eye_hold = _within(ts, [(window[0] + RAMP_S, window[1] - RAMP_S)]) if window else hold
    active = _within(ts, [(r["start_s"], r["end_s"]) for r in info["reps"]])
    blinking = _within(ts, [(b0 - 0.05, b1 + 0.1) for b0, b1 in info["blinks_s"]])
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
    # The lower-lip-to-chin height (lower_face.lip_chin_heights), change over the holds (- = shorter).
    for k, part in enumerate(("left", "right", "mid")):
        out[f"chin_{part}"] = float(np.nanmedian(rel[no_blink, 9 + k]))
    out["yaw_base"] = float(np.nanmedian(yaw[base])) if base.any() else float("nan")
    out["yaw_peak"] = float(yaw[np.nanargmax(np.abs(yaw))]) if np.isfinite(yaw).any() else float("nan")
    if info.get("pose_away_s"):
        out.update(_pose_readings(ts, yaw, found, info["pose_away_s"]))
    return out


def _readings(pts: list) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: (lid gap L, R, mouth width, left corner xyz, right corner xyz, lip-to-chin
    height L, R, mid) in the head frame over the IOD, and the head's yaw; NaN where no face was found."""
    from coach.core.measures import head_frame, head_pose

    from coach.eval.lower_face import lip_chin_heights

    rows, yaw = [], []
    for p in pts:
        if p is None:
            rows.append([np.nan] * 12)
            yaw.append(np.nan)
            continue
        g = lid_gaps(p)
        o, rot, iod = _head(p)
        q = (p - o) @ rot.T / iod
        cl, cr = q[face.MOUTH_CORNER["left"]], q[face.MOUTH_CORNER["right"]]
        chin = lip_chin_heights(q[:, :2])
        rows.append([g["left"], g["right"], float(np.linalg.norm(cl - cr)), *cl, *cr,
                     chin["left"], chin["right"], chin["mid"]])
        yaw.append(head_pose(head_frame(p)[1])[0] if p.shape[1] == 3 else np.nan)
    return np.array(rows, dtype=np.float64), np.array(yaw)


def _within(ts: np.ndarray, spans) -> np.ndarray:
    """The frames inside any of the (start, end) spans (ends included)."""
    m = np.zeros(len(ts), dtype=bool)
    for s0, s1 in spans:
        m |= (ts >= s0) & (ts <= s1)
    return m


def _pose_readings(ts: np.ndarray, yaw: np.ndarray, found: np.ndarray, pose_away) -> dict:
    """Pose clips: the least |yaw| while the truth says the head is away, when the tracker
    read it at least POSE_AWAY_DEG, and how often it found the face meanwhile."""
    t0, t1 = pose_away
    away = (ts >= t0) & (ts <= t1)
    read = ts[np.abs(np.nan_to_num(yaw)) >= POSE_AWAY_DEG]
    return {"yaw_away_min": float(np.nanmin(np.abs(yaw[away]))) if away.any() else float("nan"),
            "yaw_read_away_s": [float(read[0]), float(read[-1])] if len(read) else None,
            "found_away": float(found[away].mean())}
