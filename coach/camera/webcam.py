"""Camera extras on top of coach.camera.sources: a camera that may not be there yet, and the
opt-in video recorder. Both are sources (`read()`, `close()`) wrapping another source."""
from __future__ import annotations

import os
import time
from typing import Callable

import cv2

from coach.errors import InputError
from coach.camera.sources import CAMERA_LOST, LOST_MESSAGE, CameraSource, SourceStatus, VideoFrame, _Closing


class RetryingCamera(_Closing):
    """A CameraSource that may not exist yet: until it opens, report the camera lost
    (so the kiosk asks for staff) and try again every `retry_s`."""

    def __init__(self, index: int | str = 0, retry_s: float = 5.0, factory: Callable | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.index, self.retry_s = index, retry_s
        self._factory = factory or (lambda: CameraSource(index))
        self._clock, self._sleep = clock, sleep
        self.name = f"camera {index}"
        self.fps = 30.0
        self._cam = None
        self._next_try = 0.0

    def read(self):
        if self._cam is None and self._clock() >= self._next_try:
            try:
                self._cam = self._factory()
            except InputError:
                self._next_try = self._clock() + self.retry_s
        if self._cam is None:
            self._sleep(0.05)                     # keep the screen responsive to touches
            return SourceStatus(CAMERA_LOST, LOST_MESSAGE)
        return self._cam.read()

    def close(self) -> None:
        if self._cam is not None:
            self._cam.close()


class Recording(_Closing):
    """Opt-in video recording: wraps a source and writes the camera (or video) frames it
    delivers to `path` (mp4). Nothing is recorded unless asked for."""

    def __init__(self, source, path: str | os.PathLike):
        self.source, self.path, self.writer = source, os.fspath(path), None
        self.name, self.fps = getattr(source, "name", ""), getattr(source, "fps", 30.0)
        self.size = getattr(source, "size", None)

    def read(self):
        item = self.source.read()
        if isinstance(item, VideoFrame):
            if self.writer is None:
                h, w = item.rgb.shape[:2]
                self.writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*"mp4v"), self.fps or 30.0, (w, h))
            self.writer.write(cv2.cvtColor(item.rgb, cv2.COLOR_RGB2BGR))
        return item

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
        self.source.close()
