"""`coach analyze` as a library: a clip or a landmark stream in, an Analysis out.

Video goes through the tracker; a recorded landmark stream (`*.npz`) needs
neither video nor model. Outputs are written atomically, so an error never
leaves half a file behind.
"""
from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Iterator

from coach.core.exercises import Exercise
from coach.core.frames import LandmarkFrame, StreamError, StreamInfo, load_stream, save_stream
from coach.core.pipeline import Analysis, NoFaceError, analyze
from coach.errors import InputError

STREAM_SUFFIX = ".npz"


def is_stream(path: str | os.PathLike) -> bool:
    return str(path).endswith(STREAM_SUFFIX)


def track_video(path: str | os.PathLike, model: str | None = None, tracker=None) -> tuple[StreamInfo, list[LandmarkFrame]]:
    """Decode and track every frame of a video file (as fast as possible)."""
    from coach.io.sources import VideoSource
    from coach.io.tracker import Tracker

    source = VideoSource(path, realtime=False)
    own = tracker is None
    frames: list[LandmarkFrame] = []
    try:
        tracker = tracker or Tracker(model)
        tracker.new_clip()
        for vf in _prefetch(source):
            frames.append(tracker.track(vf.rgb, vf.t, vf.index))
    finally:
        source.close()
        if own and tracker is not None:
            tracker.close()
    if not frames:
        raise InputError(f"Cannot read video {path}: it has no readable frames.")
    names = next((tuple(f.blendshapes) for f in frames if f.blendshapes), ())
    h, w = frames[0].height, frames[0].width
    return StreamInfo(Path(path).name, source.fps, w, h, names), frames


def _prefetch(source, depth: int = 8) -> Iterator:
    """Decode on a second thread while the tracker works (OpenCV releases the GIL)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set() and (vf := source.read()) is not None:
                q.put(vf)
        except BaseException as exc:  # re-raised in the consumer
            q.put(exc)
        q.put(None)

    worker = threading.Thread(target=run, name="decode", daemon=True)
    worker.start()
    try:
        while (item := q.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(0.05)


def load_frames(path: str | os.PathLike, model: str | None = None, tracker=None) -> tuple[StreamInfo, list[LandmarkFrame]]:
    if not Path(path).exists():
        raise InputError(f"{path} does not exist.")
    if is_stream(path):
        try:
            return load_stream(path)
        except StreamError as exc:
            raise InputError(str(exc)) from None
    return track_video(path, model, tracker)


def analyze_file(path: str | os.PathLike, exercise: Exercise, affected_side: str | None = None,
                 baseline_s: float = 1.0, model: str | None = None, save_landmarks: str | None = None,
                 tracker=None) -> tuple[dict, Analysis]:
    info, frames = load_frames(path, model, tracker)
    if save_landmarks:
        save_stream(save_landmarks, frames, info)
    try:
        result = analyze(frames, exercise, affected_side, baseline_s)
    except NoFaceError:
        raise InputError(f"No face was found in {path}; sit facing the camera in good light.") from None
    return result.to_json(info.clip, info.fps), result
