"""MediaPipe FaceLandmarker → LandmarkFrame. The only module that imports mediapipe.

VIDEO running mode needs strictly increasing timestamps, also when one tracker
serves several clips in a row, so the tracker keeps its own monotonic clock and
maps each clip's time onto it. Close it explicitly (or use it as a context
manager); relying on `__del__` at interpreter exit prints errors.

`extras=False` asks MediaPipe for landmarks only: no blendshapes, no
transformation matrix. The landmarks are the same to the bit; `coach analyze`
uses neither, so it asks for them only when it saves a landmark stream.

Each frame with a face also carries its pixel readings (`coach.camera.pixels`: the chin's profile
and texture, the neck below the jaw), read from the same picture.
"""
from __future__ import annotations

import importlib
import os
import sys
import threading
import types

import numpy as np

from dataclasses import replace

from coach.core.frames import LandmarkFrame
from coach.camera import model as model_io
from coach.camera.pixels import read_pixels
from coach.quiet import hushed_stderr

MAX_FACES = 4  # look for a few, keep the largest: the patient is the one nearest the camera


# Imported by `import mediapipe` for its drawing and audio helpers, which coach never
# uses: about half of MediaPipe's import time (matplotlib.pyplot, and sounddevice, which
# loads PortAudio). They are imported for real at their first use.
_DEFERRED = ("matplotlib", "matplotlib.pyplot", "sounddevice")
_import_lock = threading.Lock()


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its attributes is wanted."""

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if sys.modules.get(self.__name__) is self:  # wanted while mediapipe is being imported
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


def import_mediapipe():
    """`import mediapipe`, with its drawing and audio dependencies deferred (see _DEFERRED)."""
    with _import_lock:  # two trackers may start at once; the second waits for a whole module
        if "mediapipe" not in sys.modules:
            _import_deferring("mediapipe")
    import mediapipe

    return mediapipe


def _import_deferring(module: str) -> None:
    stand_ins = {name: _Deferred(name) for name in _DEFERRED if name not in sys.modules}
    for name, stub in stand_ins.items():
        sys.modules[name] = stub
    if "matplotlib.pyplot" in stand_ins and "matplotlib" in stand_ins:
        setattr(stand_ins["matplotlib"], "pyplot", stand_ins["matplotlib.pyplot"])  # `import matplotlib.pyplot as plt`
    try:
        importlib.import_module(module)
    finally:
        for name, stub in stand_ins.items():  # from now on, importing them gets the real modules
            if sys.modules.get(name) is stub:
                del sys.modules[name]


class Tracker:
    def __init__(self, model_path: str | os.PathLike | None = None, max_faces: int = MAX_FACES,
                 extras: bool = True):
        mp = import_mediapipe()
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        path = model_io.resolve(model_path)
        self._options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=max_faces,
            output_face_blendshapes=extras,
            output_facial_transformation_matrixes=extras,
        )
        self._create = vision.FaceLandmarker.create_from_options
        with hushed_stderr():  # MediaPipe's C++ set-up chatter means nothing to a patient
            self._landmarker = self._create(self._options)
        self.faces: tuple[np.ndarray, ...] = ()  # every face of the last frame tracked, (478, 3) each
        self._last_ms = -1
        self._clip_offset_ms = 0
        self._clip_last_t = None
        self._first = True
        self._used = False
        self.readings = True   # read the chin and neck from the picture too (`coach.camera.pixels`)

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
            with hushed_stderr():
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
            with hushed_stderr():
                result = self._landmarker.detect_for_video(image, ms)
            self._first = False
        else:
            result = self._landmarker.detect_for_video(image, ms)
        self.faces = tuple(np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float32)
                           for lms in result.face_landmarks)
        if not self.faces:
            return LandmarkFrame(t, w, h, None, {}, None, index)
        best = _largest(self.faces, w, h)
        pts = self.faces[best]
        blend = {}
        if result.face_blendshapes:
            blend = {c.category_name: float(c.score) for c in result.face_blendshapes[best]}
        matrix = None
        if result.facial_transformation_matrixes:
            matrix = np.asarray(result.facial_transformation_matrixes[best], dtype=np.float32)
        frame = LandmarkFrame(t, w, h, pts, blend, matrix, index)
        return replace(frame, readings=read_pixels(rgb, frame)) if self.readings else frame

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


def _largest(faces: tuple[np.ndarray, ...], w: int, h: int) -> int:
    if len(faces) == 1:
        return 0

    def area(pts: np.ndarray) -> float:
        xy = pts[:, :2].astype(np.float64)
        span = xy.max(axis=0) - xy.min(axis=0)
        return float(span[0]) * w * float(span[1]) * h

    return max(range(len(faces)), key=lambda i: area(faces[i]))


