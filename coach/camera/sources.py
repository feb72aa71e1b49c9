"""Frame sources for the live coach: a webcam, a video file, or a recorded landmark stream.

Every source has the same small interface (`Source`). `read()` returns the next
`VideoFrame` (an RGB image for the tracker), a `LandmarkFrame` (replay: needs
neither camera nor model), a `SourceStatus` notice to show the patient ("camera
lost", ...), or None when the source is finished. `close()` always releases the
device. Sources are context managers. coach.camera.webcam adds a camera that may
not be there yet (RetryingCamera) and the opt-in video recorder (Recording).
"""
from __future__ import annotations

import collections
import logging
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, Protocol, Self

import cv2
import numpy as np

from coach.core.frames import LandmarkFrame, StreamError, load_stream
from coach.errors import InputError

log = logging.getLogger(__name__)

# OpenCV's V4L2 backend waits in select() up to 10 s (its default) for each frame of a camera
# that stopped sending, and it ignores CAP_PROP_READ_TIMEOUT_MSEC. It reads this variable once,
# at the first frame grabbed in the process, so it must be set before any camera opens.
os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", "2")

CAMERA_LOST = "camera_lost"
RECONNECTING = "reconnecting"
OK = "ok"
LOST_MESSAGE = "Camera lost — check the cable or close other apps using it"


@dataclass(frozen=True)
class VideoFrame:
    index: int  # position in the source; gaps are dropped frames
    t: float  # seconds since the source started, strictly increasing
    rgb: np.ndarray  # (H, W, 3) uint8, unmirrored
    arrived: float  # clock() when the frame arrived, for latency measurement


@dataclass(frozen=True)
class SourceStatus:
    state: str  # CAMERA_LOST | RECONNECTING | OK
    message: str
    attempt: int = 0  # reconnect attempts so far


class Source(Protocol):
    fps: float
    size: tuple[int, int]  # (width, height)
    name: str

    def read(self) -> VideoFrame | LandmarkFrame | SourceStatus | None: ...

    def close(self) -> None: ...


class _Closing:
    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _sane_fps(fps: float) -> bool:
    return math.isfinite(fps) and 1.0 <= fps <= 240.0


class CameraSource(_Closing):
    """A webcam read by a grabber thread that keeps only the newest frame.

    Stale frames are latency: a coach working through a queue of old frames shows the
    patient what their face did a moment ago. So the grabber overwrites one slot and
    counts the frames nobody read (`dropped`). A camera that stops delivering (no frames
    for `stall_s`, `max_failures` failed reads in a row, or the same image for
    `freeze_s`) is reported as lost and reopened with exponential backoff.

    Only the grabber thread touches the capture after start-up (OpenCV captures are
    not thread-safe), so it is also the one that releases it.
    """

    join_s = 1.0  # close() waits this long for the grabber, then leaves the release to it
    heartbeat_s = 1.0  # while lost, read() repeats the notice this often so the UI keeps drawing

    def __init__(self, index: int | str = 0, size: tuple[int, int] = (640, 480), fps: float = 30.0,
                 capture_factory: Callable = cv2.VideoCapture, clock: Callable[[], float] = time.monotonic,
                 stall_s: float = 2.0, max_failures: int = 10, freeze_s: float = 2.0,
                 backoff: tuple[float, float] = (0.5, 5.0)):
        self.index = index
        self.name = f"camera {index}"
        self.stall_s, self.max_failures, self.freeze_s = stall_s, max_failures, freeze_s
        self.dropped = 0  # frames overwritten before the consumer read them
        self.reconnects = 0
        self.last_loss: str | None = None  # why the camera was last declared lost
        self._want = (size, fps)
        self._factory, self._clock, self._backoff = capture_factory, clock, backoff
        self._api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        cap = self._open()
        if cap is None:
            raise InputError(f"No camera found at index {index}; connect a webcam or close other apps "
                             "using it, or practise with a video file instead: coach run --video FILE.")
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) or size[0],
                     int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) or size[1])
        got = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(got) if _sane_fps(got) else float(fps)

        self._cond = threading.Condition()
        self._slot: tuple[int, np.ndarray, float] | None = None  # newest frame: (index, bgr, arrived)
        self._notices: collections.deque[SourceStatus] = collections.deque(maxlen=16)
        self._status: SourceStatus | None = None
        self._status_at = 0.0
        self._state = OK  # OK | CAMERA_LOST | RECONNECTING (reopened, waiting for a frame)
        self._attempt = 0
        self._seq = 0
        self._closed = False
        self._start = self._last_good = clock()
        self._last_t = -math.inf
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._grab_loop, args=(cap,), name=self.name, daemon=True)
        self._thread.start()

    # -- consumer side -------------------------------------------------------------------------

    def read(self) -> VideoFrame | SourceStatus | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = self._clock()
                if self._notices:
                    self._status_at = now
                    return self._notices.popleft()
                if self._slot is not None:
                    index, bgr, arrived = self._slot
                    self._slot = None
                    break
                if self._state != CAMERA_LOST and now - self._last_good >= self.stall_s:
                    # The grabber may be stuck inside cap.read(); tell the patient now, not later.
                    self._lose(f"no frames for {now - self._last_good:.1f} s")
                    continue
                if self._state != OK and self._status and now - self._status_at >= self.heartbeat_s:
                    self._status_at = now
                    return self._status
                self._cond.wait(0.05)
        t = max(arrived - self._start, self._last_t + 1e-6)
        self._last_t = t
        return VideoFrame(index, t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), arrived)

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._slot = None
            self._cond.notify_all()
        self._stop.set()
        self._thread.join(self.join_s)
        if self._thread.is_alive():
            log.warning("%s: a read is still blocked; the grabber releases the device when it returns",
                        self.name)

    # -- grabber side --------------------------------------------------------------------------

    def _open(self):
        # OpenCV logs its own warnings for a missing device; we say it in one sentence instead,
        # and a camera being reconnected would repeat them on every attempt.
        previous = cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            cap = self._factory(self.index, self._api)
            if not cap.isOpened():
                cap.release()
                return None
        except cv2.error:
            return None
        finally:
            cv2.utils.logging.setLogLevel(previous)
        (w, h), fps = self._want
        # MJPG first: many V4L2 webcams only do 640x480 at 30 fps in MJPG (raw YUYV
        # saturates USB 2 and drops to 10-15 fps). Then size, rate, and a one-frame
        # driver buffer, because buffered frames are stale frames, i.e. latency.
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        cap.set(cv2.CAP_PROP_FPS, fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap

    def _grab_loop(self, cap) -> None:
        failures, last_sig, same_since = 0, None, 0.0
        try:
            while not self._stop.is_set():
                if cap is None:
                    cap = self._reconnect()
                    failures, last_sig = 0, None
                    continue
                try:
                    ok, bgr = cap.read()
                except cv2.error:
                    ok, bgr = False, None
                now = self._clock()
                if ok and bgr is not None and bgr.size:
                    failures = 0
                    reason, last_sig, same_since = self._frozen(bgr, now, last_sig, same_since)
                    if reason is None:
                        self._put(bgr, now)
                else:
                    failures += 1
                    reason = self._failed(failures, now)
                with self._cond:
                    if reason:
                        self._lose(reason)
                    lost = self._state == CAMERA_LOST
                if lost:
                    cap.release()
                    cap = None
        finally:
            if cap is not None:
                cap.release()

    def _frozen(self, bgr: np.ndarray, now: float, last_sig: bytes | None, same_since: float) -> tuple:
        """(why the camera counts as lost or None, the image's signature, since when it has not changed)."""
        sample = bgr[::16, ::16]
        sig = sample.tobytes()
        # A driver that hangs keeps handing out the same buffer. A uniform image
        # (lens covered, dark room) repeats too, but that is no reason to reconnect.
        if sig != last_sig or sample.min() == sample.max():
            return None, sig, now
        if now - same_since >= self.freeze_s:
            return f"the same image for {now - same_since:.1f} s", last_sig, same_since
        return None, last_sig, same_since

    def _failed(self, failures: int, now: float) -> str | None:
        """After a failed read: why the camera counts as lost, or None (after a short wait)."""
        if failures >= self.max_failures:
            return f"{failures} failed reads in a row"
        if now - self._last_good >= self.stall_s:
            return f"no frames for {now - self._last_good:.1f} s"
        self._stop.wait(0.01)  # a broken device can fail instantly; don't spin
        return None

    def _put(self, bgr: np.ndarray, now: float) -> None:
        with self._cond:
            if self._closed or self._state == CAMERA_LOST:
                return  # a late frame from a device we have given up on
            if self._state == RECONNECTING:
                self._state = OK
                self.reconnects += 1
                self._notify(OK, "Camera is back", self._attempt)
                self._attempt = 0
            if self._slot is not None:
                self.dropped += 1
            self._slot = (self._seq, bgr, now)
            self._seq += 1
            self._last_good = now
            self._cond.notify_all()

    def _lose(self, reason: str) -> None:
        """Declare the camera lost (caller holds the lock)."""
        if self._state == CAMERA_LOST:
            return
        self._state = CAMERA_LOST
        self._slot = None  # the last frame before a loss is stale by now
        self.last_loss = reason
        log.warning("%s lost: %s", self.name, reason)
        self._notify(CAMERA_LOST, LOST_MESSAGE, self._attempt)

    def _notify(self, state: str, message: str, attempt: int) -> None:
        self._status = SourceStatus(state, message, attempt)
        self._notices.append(self._status)
        self._cond.notify_all()

    def _reconnect(self):
        first, cap_s = self._backoff
        while not self._stop.is_set():
            with self._cond:
                self._attempt += 1
                attempt = self._attempt
            if self._stop.wait(min(first * 2 ** min(attempt - 1, 16), cap_s)):
                return None
            with self._cond:
                self._notify(RECONNECTING, f"Reconnecting to the camera (attempt {attempt})", attempt)
            cap = self._open()
            if cap is not None:
                with self._cond:
                    self._state = RECONNECTING  # OK again once a frame arrives
                    self._last_good = self._clock()
                return cap
        return None


class VideoSource(_Closing):
    """A video file, paced like a live camera (`realtime=True`) or as fast as it decodes.

    Timestamps come from frame index / fps. When the file's fps is missing or absurd
    they come from the container's position (CAP_PROP_POS_MSEC), else 30 fps is assumed.
    A file that ends before its header's frame count (truncated) ends cleanly;
    `frames_read`, `frames_expected` and `truncated` say how far it got.
    """

    def __init__(self, path: str | os.PathLike, realtime: bool = True,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 capture_factory: Callable = cv2.VideoCapture):
        self.path = os.fspath(path)
        self.name = os.path.basename(self.path)
        self.realtime = realtime
        self._clock, self._sleep = clock, sleep
        self.frames_read = 0
        self.dropped = 0  # frames skipped so a late consumer stays in real time
        self._t0: float | None = None
        self._last_t = -math.inf
        self._cap = None
        self._ended = False  # reached the end of the file (not merely closed)
        if not os.path.isfile(self.path):
            why = "it is not a file" if os.path.exists(self.path) else "there is no such file"
            raise InputError(f"Cannot read video {self.path}: {why}.")
        cap = capture_factory(self.path)
        if not cap.isOpened():
            cap.release()
            raise InputError(f"Cannot read video {self.path}: it is corrupt, incomplete or not a video.")
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        self._fps_known = _sane_fps(fps)
        self.fps = fps if self._fps_known else 30.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frames_expected: int | None = count if count > 0 else None
        self._next = self._decode()  # read ahead one frame: decoding overlaps the wait
        if self._next is None:
            raise InputError(f"Cannot read video {self.path}: it has no readable frames.")
        h, w = self._next[2].shape[:2]
        self.size = (w, h)

    @property
    def truncated(self) -> bool:
        return self._ended and self.frames_expected is not None and self.frames_read < self.frames_expected

    def read(self) -> VideoFrame | None:
        frame = self._next
        if frame is None:
            return None
        self._next = self._decode()
        if not self.realtime:
            arrived = self._clock()
        else:
            now = self._clock()
            if self._t0 is None:
                self._t0 = now - frame[1]  # the clip starts at the first read, not at open
            # A late consumer gets the newest frame already due, as from a live camera:
            # working through the backlog would only add latency.
            while self._next is not None and self._t0 + self._next[1] <= now:
                self.dropped += 1
                frame, self._next = self._next, self._decode()
            arrived = self._t0 + frame[1]
            if arrived > now:
                self._sleep(arrived - now)
        index, t, bgr = frame
        return VideoFrame(index, t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), arrived)

    def _decode(self) -> tuple[int, float, np.ndarray] | None:
        if self._cap is None:
            return None
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            self._finish()
            return None
        index = self.frames_read
        self.frames_read += 1
        if self._fps_known:
            t = index / self.fps
        else:
            ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
            t = ms / 1000 if math.isfinite(ms) and ms / 1000 > self._last_t else self._last_t + 1 / 30
            t = max(t, 0.0)
        self._last_t = t
        return index, t, bgr

    def _finish(self) -> None:
        self._ended = True
        self.close()
        if self.truncated:
            log.warning("Video %s ended after %d of %d frames; the file looks truncated.",
                        self.path, self.frames_read, self.frames_expected)

    def close(self) -> None:
        self._next = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ReplaySource(_Closing):
    """A recorded landmark stream (`*.landmarks.npz`), optionally paced in real time.

    Replays never drop frames, even with a late consumer: a replay exists to
    reproduce a session exactly.
    """

    def __init__(self, path: str | os.PathLike, realtime: bool = False,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.path = os.fspath(path)
        self.name = os.path.basename(self.path)
        try:
            self.info, self._frames = load_stream(self.path)
        except StreamError as exc:
            raise InputError(f"Cannot replay landmarks: {exc}.") from None
        except (KeyError, TypeError):  # load_stream lets malformed metadata through
            raise InputError(f"Cannot replay landmarks: {self.path} has malformed metadata.") from None
        if not self._frames:
            raise InputError(f"Cannot replay {self.path}: it contains no frames.")
        self.fps = self.info.fps if _sane_fps(self.info.fps) else 30.0
        self.size = (self.info.width, self.info.height)
        self.realtime = realtime
        self._clock, self._sleep = clock, sleep
        self._i = 0
        self._t0: float | None = None

    def read(self) -> LandmarkFrame | None:
        if self._i >= len(self._frames):
            return None
        frame = self._frames[self._i]
        self._i += 1
        if self.realtime:
            now = self._clock()
            if self._t0 is None:
                self._t0 = now - frame.t
            due = self._t0 + frame.t
            if due > now:
                self._sleep(due - now)
        return frame

    def close(self) -> None:
        self._i = len(self._frames)


class Unmirrored(_Closing):
    """For a camera or video that delivers a mirror image (some webcams do): flip each
    frame back before it is tracked, so the patient's left stays on the image's right
    and every side the coach reports stays anatomical. Mirroring is for display only."""

    def __init__(self, source):
        self.source = source
        self.fps, self.size, self.name = source.fps, source.size, source.name

    def read(self):
        item = self.source.read()
        if isinstance(item, VideoFrame):
            return replace(item, rgb=np.ascontiguousarray(item.rgb[:, ::-1]))
        return item

    def close(self) -> None:
        self.source.close()


def open_source(camera: int | str | None = None, video: str | os.PathLike | None = None,
                replay: str | os.PathLike | None = None, fast: bool = False, mirrored: bool = False) -> Source:
    """The CLI's source: a video, a replay, or else a camera (index 0 unless given).

    `fast` delivers video and replay frames as fast as possible instead of in real time;
    `mirrored` says the camera or video delivers a mirror image (see Unmirrored).
    """
    if mirrored and replay is None:
        return Unmirrored(open_source(camera, video, replay, fast))
    if sum(x is not None for x in (camera, video, replay)) > 1:
        raise InputError("Choose one source: a camera, a video file or a landmark replay.")
    if video is not None:
        return VideoSource(video, realtime=not fast)
    if replay is not None:
        return ReplaySource(replay, realtime=not fast)
    if camera is None:
        camera = 0
    elif isinstance(camera, str) and camera.isdigit():
        camera = int(camera)  # "--camera 1"; a device path such as /dev/video2 stays a string
    return CameraSource(camera)
