"""`coach analyze` as a library: a clip or a landmark stream in, an Analysis out.

Video goes through the tracker; a recorded landmark stream (`*.npz`) needs
neither video nor model. Outputs are written atomically, so an error never
leaves half a file behind.

Tracking a file keeps both cores busy without changing a single number:
decoding runs on its own thread (from before the model loads), the analysis
measures each frame on another as soon as it is tracked, and with two workers
a second tracker takes the clip's second half (see `_SecondHalf`).
"""
from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from coach.core.exercises import Exercise
from coach.core.frames import LandmarkFrame, StreamError, StreamInfo, load_stream, save_stream
from coach.core.pipeline import Analysis, NoFaceError, analyze
from coach.errors import InputError

STREAM_SUFFIX = ".npz"
PREFETCH_BYTES = 64 << 20  # decoded frames waiting for the tracker (8 to 256 frames)
MIN_SPLIT = 60  # frames: a shorter clip is not worth a second tracker
HANDOVER = 2  # frames the second tracker runs before its half starts


def is_stream(path: str | os.PathLike) -> bool:
    return str(path).endswith(STREAM_SUFFIX)


def default_workers() -> int:
    """Trackers for one clip: two when this process may use two cores."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return min(2, cpus)


def track_video(path: str | os.PathLike, model: str | None = None, tracker=None, extras: bool = True,
                workers: int = 1, sink: Callable[[LandmarkFrame], object] | None = None,
                progress=None) -> tuple[StreamInfo, list[LandmarkFrame]]:
    """Decode and track every frame of a video file (as fast as possible).

    `extras`: blendshapes and transformation matrices too (a tracker given is used as it is).
    `workers=2` (with no tracker given): a second tracker takes the second half of the clip.
    `sink(frame)` gets each frame, in order, as soon as it is known.
    `progress` (a `coach.bars.bar`) counts the frames tracked, by either tracker.
    """
    from coach.camera.sources import VideoSource

    source = VideoSource(path, realtime=False)
    frames: list[LandmarkFrame] = []
    tick = progress.update if progress is not None else (lambda n: None)
    if progress is not None:
        progress.total = source.frames_expected

    def emit(frame: LandmarkFrame, tracked_here: bool = True) -> None:
        frames.append(frame)
        if tracked_here:
            tick(1)
        if sink is not None:
            sink(frame)

    try:
        with _Prefetch(source) as decoded:  # decoding starts now, while the model loads
            half = None
            if workers > 1 and tracker is None and (source.frames_expected or 0) >= MIN_SPLIT:
                from coach.camera.model import resolve

                model = str(resolve(model))  # once: two trackers must not both download it
                half = _SecondHalf(path, (source.frames_expected or 0) // 2, model, extras, tick)
            try:
                _track(decoded, tracker, model, extras, half, emit)
            finally:
                if half is not None:
                    half.cancel()
    finally:
        source.close()
    if not frames:
        raise InputError(f"Cannot read video {path}: it has no readable frames.")
    names = next((tuple(f.blendshapes) for f in frames if f.blendshapes), ())
    h, w = frames[0].height, frames[0].width
    return StreamInfo(Path(path).name, source.fps, w, h, names), frames


def _track(decoded, tracker, model, extras: bool, half: "_SecondHalf | None", emit) -> None:
    """Track the decoded frames in order; hand over to `half` where it agrees."""
    from coach.camera.tracker import Tracker

    own = tracker is None
    tracker = tracker or Tracker(model, extras=extras)
    try:
        tracker.new_clip()
        for vf in decoded:
            emit(tracker.track(vf.rgb, vf.t, vf.index))
            if half is not None and vf.index == half.start - 1:
                if half.agrees(tracker.faces):
                    break
                half.cancel()  # it started elsewhere: this tracker goes on alone
                half = None
        else:
            return  # the clip ended here (before the second half, or it had none)
    finally:
        if own:
            tracker.close()
    decoded.close()  # the rest is the second half's
    for frame in half.result():
        emit(frame, tracked_here=False)      # counted as the second tracker made it


class _Prefetch:
    """Decode on a thread of its own, from construction on (OpenCV releases the GIL)."""

    def __init__(self, source, depth: int | None = None):
        if depth is None:
            w, h = source.size
            depth = int(np.clip(PREFETCH_BYTES // max(w * h * 3, 1), 8, 256))
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, args=(source,), name="decode", daemon=True)
        self._worker.start()

    def _run(self, source) -> None:
        try:
            while not self._stop.is_set() and (vf := source.read()) is not None:
                self._q.put(vf)
        except BaseException as exc:  # re-raised in the consumer
            self._q.put(exc)
        self._q.put(None)

    def __iter__(self) -> Iterator:
        while (item := self._q.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        while self._worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                self._q.get_nowait()
            except queue.Empty:
                self._worker.join(0.05)

    def __enter__(self) -> "_Prefetch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _SecondHalf:
    """Frames from `start` on, tracked on a thread by a tracker and a decoder of their own.

    In VIDEO mode MediaPipe carries only the last frame's faces from one frame to the
    next. This tracker starts HANDOVER frames early; once its faces at `start - 1` equal,
    to the bit, those the first tracker found there, every later frame is what one
    tracker alone would have found. `agrees` checks that; if they differ, the first
    tracker goes on alone, so the result never depends on the split.
    """

    def __init__(self, path, start: int, model: str | None, extras: bool, tick=lambda n: None):
        self.start, self._tick = start, tick
        self._frames: list[LandmarkFrame] = []
        self._faces: tuple | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(path, model, extras), name="track-2", daemon=True)
        self._thread.start()

    def _run(self, path, model, extras) -> None:
        from coach.camera.sources import VideoSource
        from coach.camera.tracker import Tracker

        try:
            with VideoSource(path, realtime=False) as source, _Prefetch(source) as decoded, \
                    Tracker(model, extras=extras) as tracker:
                for vf in decoded:
                    if self._stop.is_set():
                        return
                    if vf.index < self.start - HANDOVER:
                        continue
                    frame = tracker.track(vf.rgb, vf.t, vf.index)
                    if vf.index >= self.start:
                        self._frames.append(frame)
                        self._tick(1)
                    elif vf.index == self.start - 1:
                        self._faces = tracker.faces
                        self._ready.set()
        except BaseException as exc:  # re-raised by result()
            self._error = exc
        finally:
            self._ready.set()

    def agrees(self, faces: tuple) -> bool:
        self._ready.wait()
        theirs = self._faces
        return (self._error is None and theirs is not None and len(theirs) == len(faces)
                and all(np.array_equal(a, b) for a, b in zip(faces, theirs)))

    def result(self) -> list[LandmarkFrame]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._frames

    def cancel(self) -> None:
        self._stop.set()
        self._thread.join()


class _Streamed:
    """Run `fn(frames)` on a thread while the frames are still arriving (`put`)."""

    _END = object()

    def __init__(self, fn: Callable):
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._out: dict = {}
        self._thread = threading.Thread(target=self._run, args=(fn,), name="analyze", daemon=True)
        self._thread.start()

    def _run(self, fn) -> None:
        ended = False

        def items() -> Iterator:
            nonlocal ended
            while (item := self._q.get()) is not self._END:
                yield item
            ended = True

        try:
            self._out["value"] = fn(items())
        except BaseException as exc:  # re-raised by result()
            self._out["error"] = exc
        while not ended and self._q.get() is not self._END:  # fn stopped early: wait for the end
            pass

    def put(self, item) -> None:
        self._q.put(item)

    def result(self):
        self._thread.join()
        if "error" in self._out:
            raise self._out["error"]
        return self._out["value"]

    def __enter__(self) -> "_Streamed":
        return self

    def __exit__(self, *exc) -> None:
        self._q.put(self._END)
        self._thread.join()


def load_frames(path: str | os.PathLike, model: str | None = None, tracker=None,
                **track) -> tuple[StreamInfo, list[LandmarkFrame]]:
    """A landmark stream's frames, or a video's tracked (`track`: see track_video)."""
    if not Path(path).exists():
        raise InputError(f"{path} does not exist.")
    if is_stream(path):
        try:
            return load_stream(path)
        except StreamError as exc:
            raise InputError(str(exc)) from None
    return track_video(path, model, tracker, **track)


def analyze_file(path: str | os.PathLike, exercise: Exercise, affected_side: str | None = None,
                 baseline_s: float = 1.0, model: str | None = None, save_landmarks: str | None = None,
                 tracker=None, workers: int | None = None, progress=None) -> tuple[dict, Analysis]:
    """Analyse a clip or stream. A video is measured while it is tracked; blendshapes and
    matrices are asked of the tracker only for `save_landmarks` (the analysis uses neither).
    `progress`: a `coach.bars.bar` counting the frames tracked."""
    with _Streamed(lambda frames: analyze(frames, exercise, affected_side, baseline_s)) as streamed:
        track = {} if is_stream(path) else {
            "extras": bool(save_landmarks), "sink": streamed.put, "progress": progress,
            "workers": default_workers() if workers is None else workers}
        info, frames = load_frames(path, model, tracker, **track)
        if is_stream(path):
            for frame in frames:
                streamed.put(frame)
    if save_landmarks:
        save_stream(save_landmarks, frames, info)
    if len(frames) < 2:
        raise InputError(f"{path} has a single frame (a still image?): analyze needs a video of the movement.")
    try:
        result = streamed.result()
    except NoFaceError:
        raise InputError(f"No face was found in {path}; sit facing the camera in good light.") from None
    seen = result.duration_s - (result.first_face_s or 0.0)
    if result.face_frames and baseline_s >= seen:
        raise InputError(f"--baseline-s {baseline_s:g} is as long as the {seen:.1f} s in which a face is seen: "
                         "nothing is left to analyse; give a shorter neutral period.")
    return result.to_json(info.clip, info.fps), result
