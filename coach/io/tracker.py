"""MediaPipe FaceLandmarker → LandmarkFrame. The only module that imports mediapipe.

VIDEO running mode needs strictly increasing timestamps, also when one tracker
serves several clips in a row, so the tracker keeps its own monotonic clock and
maps each clip's time onto it. Close it explicitly (or use it as a context
manager); relying on `__del__` at interpreter exit prints errors.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from coach.core.frames import LandmarkFrame
from coach.io import model as model_io

MAX_FACES = 4  # look for a few, keep the largest: the patient is the one nearest the camera


class Tracker:
    def __init__(self, model_path: str | os.PathLike | None = None, max_faces: int = MAX_FACES):
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        path = model_io.resolve(model_path)
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=max_faces,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        with _quiet_stderr():  # MediaPipe's C++ set-up chatter means nothing to a patient
            self._options = options
        self._create = vision.FaceLandmarker.create_from_options
        self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._last_ms = -1
        self._clip_offset_ms = 0
        self._clip_last_t = None
        self._first = True
        self._used = False

    def new_clip(self) -> None:
        """Start a new clip: its timestamps restart at 0, ours keep increasing.

        VIDEO mode tracks each face from the previous frame's landmarks, so a new clip
        also gets a fresh landmarker: otherwise its first frames are fitted inside the
        last clip's face box.
        """
        self._clip_offset_ms = self._last_ms + 1
        self._clip_last_t = None
        if self._used:
            self._landmarker.close()
            with _quiet_stderr():
                self._landmarker = self._create(self._options)
            self._used = False

    def track(self, rgb: np.ndarray, t: float, index: int = 0) -> LandmarkFrame:
        """Track one RGB uint8 image taken at clip time t (seconds)."""
        h, w = rgb.shape[:2]
        ms = self._clip_offset_ms + int(round(t * 1000))
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        self._used = True
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self._first:
            with _quiet_stderr():
                result = self._landmarker.detect_for_video(image, ms)
            self._first = False
        else:
            result = self._landmarker.detect_for_video(image, ms)
        if not result.face_landmarks:
            return LandmarkFrame(t, w, h, None, {}, None, index)
        best = _largest(result.face_landmarks, w, h)
        lms = result.face_landmarks[best]
        pts = np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float32)
        blend = {}
        if result.face_blendshapes:
            blend = {c.category_name: float(c.score) for c in result.face_blendshapes[best]}
        matrix = None
        if result.facial_transformation_matrixes:
            matrix = np.asarray(result.facial_transformation_matrixes[best], dtype=np.float32)
        return LandmarkFrame(t, w, h, pts, blend, matrix, index)

    def detect_raw(self, rgb: np.ndarray):
        """MediaPipe alone, with none of our conversion: what `coach bench` compares against."""
        self._last_ms += 33
        self._used = True
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        return self._landmarker.detect_for_video(image, self._last_ms)

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _largest(faces, w: int, h: int) -> int:
    def area(lms) -> float:
        xs = [p.x for p in lms]
        ys = [p.y for p in lms]
        return (max(xs) - min(xs)) * w * (max(ys) - min(ys)) * h

    return max(range(len(faces)), key=lambda i: area(faces[i]))


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (C++ logging bypasses Python's sys.stderr)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
