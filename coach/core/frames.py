"""The frame record the tracker emits, and recorded landmark streams.

A `LandmarkFrame` is the only thing that crosses from the tracker into the core.
Points are MediaPipe's normalised image coordinates (x, y in 0..1 of width and
height; z in roughly the same scale as x), exactly as the tracker saw them in the
*unmirrored* image. Which side is which is decided in `coach.core.face`, never here.

Recorded streams (`*.landmarks.npz`) are what `coach analyze --save-landmarks`
writes and `ReplaySource` reads: compact (points quantised to 1/64 px as int16
deltas over time, then deflated) and self-describing. The pixel readings
(`LandmarkFrame.readings`) travel with them as float16 arrays `px_NAME` (streams
saved before they existed have none, and read back without them).
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from coach.core.files import write_atomic

N_LANDMARKS = 478
STREAM_FORMAT = "coach-landmarks/1"
QUANT = 16.0  # sub-pixel steps per pixel; 1/16 px is far below MediaPipe's ~0.5 px jitter


@dataclass(frozen=True)
class LandmarkFrame:
    """One tracked video frame. `points` is None when no face was found."""

    t: float
    width: int
    height: int
    points: np.ndarray | None = None  # (478, 3) float32, normalised
    blendshapes: Mapping[str, float] = field(default_factory=dict)
    matrix: np.ndarray | None = None  # (4, 4) facial transformation matrix
    index: int = 0
    # What the picture shows where the mesh does not reach (`coach.camera.pixels`): small arrays
    # by name (the chin's grey profiles, the neck's features). None: not read (an older stream).
    readings: Mapping[str, np.ndarray] | None = None

    @property
    def has_face(self) -> bool:
        return self.points is not None

    def pixels(self) -> np.ndarray:
        """Points in pixel units, z scaled like x (MediaPipe's convention)."""
        assert self.points is not None
        return self.points * np.array([self.width, self.height, self.width], dtype=np.float32)


class StreamError(ValueError):
    """A landmark stream that cannot be read."""


@dataclass(frozen=True)
class StreamInfo:
    clip: str
    fps: float
    width: int
    height: int
    blendshape_names: tuple[str, ...] = ()
    session: str = ""          # the logged session the stream was saved with (its id), if any


def save_stream(path: str | os.PathLike[str], frames: Iterable[LandmarkFrame], info: StreamInfo) -> int:
    """Write frames atomically, so a crash never leaves half a file."""
    frames = list(frames)
    n = len(frames)
    names = tuple(info.blendshape_names)
    t = np.array([f.t for f in frames], dtype=np.float64)
    has = np.array([f.has_face for f in frames], dtype=bool)
    px = np.zeros((n, N_LANDMARKS, 3), dtype=np.float64)
    blend = np.zeros((n, len(names)), dtype=np.float16)
    mat = np.zeros((n, 4, 4), dtype=np.float32)
    for i, f in enumerate(frames):
        if f.points is None:
            continue
        px[i] = f.pixels()
        if names:
            blend[i] = [f.blendshapes.get(k, 0.0) for k in names]
        if f.matrix is not None:
            mat[i] = f.matrix
    pix = _pixel_arrays(frames)
    q = np.round(px * QUANT).astype(np.int32)
    # Deltas over time compress well: most landmarks barely move between frames.
    dq = np.diff(q, axis=0, prepend=np.zeros((1, N_LANDMARKS, 3), np.int32))
    if np.abs(dq).max(initial=0) >= 2**31:
        raise StreamError("landmark coordinates out of range")
    meta = {"format": STREAM_FORMAT, "clip": info.clip, "fps": info.fps, "quant": QUANT,
            "width": info.width, "height": info.height, "blendshape_names": list(names)}
    if info.session:
        meta["session"] = info.session
    arrays: dict[str, Any] = dict(meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                                  t=t, face=has, dq=dq, blend=blend, matrix=mat, **pix)
    write_atomic(path, lambda tmp: np.savez_compressed(tmp, **arrays))
    return n


PIXEL_PREFIX = "px_"


def _pixel_arrays(frames: list[LandmarkFrame]) -> dict[str, np.ndarray]:
    """Each pixel reading's name -> (frames, *shape) float16 array, NaN where a frame has none."""
    shapes: dict[str, tuple[int, ...]] = {}
    for f in frames:
        for k, v in (f.readings or {}).items():
            shapes.setdefault(k, np.shape(v))
    out = {}
    for k, shape in shapes.items():
        a = np.full((len(frames), *shape), np.nan, dtype=np.float16)
        for i, f in enumerate(frames):
            got = (f.readings or {}).get(k)
            if got is not None and np.shape(got) == shape:
                a[i] = got
        out[PIXEL_PREFIX + k] = a
    return out


def _why(exc: Exception) -> str:
    """Why a stream could not be read, in words (no exception class names)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, KeyError):
        return f"its part {exc.args[0]!r} is missing"
    return "damaged, or not a landmark stream"


def stream_session(path: str | os.PathLike[str]) -> str:
    """The id of the logged session a stream was saved with ('' when none, or not a stream), read
    from its metadata only."""
    try:
        with np.load(os.fspath(path), allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
        return ""
    return str(meta.get("session", "")) if isinstance(meta, dict) and meta.get("format") == STREAM_FORMAT else ""


def load_stream(path: str | os.PathLike[str]) -> tuple[StreamInfo, list[LandmarkFrame]]:
    """Read a stream written by `save_stream`. Raises StreamError with a plain reason."""
    try:
        with np.load(os.fspath(path), allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            t, has, dq, blend, mat = z["t"], z["face"], z["dq"], z["blend"], z["matrix"]
            pix = {k[len(PIXEL_PREFIX):]: z[k].astype(np.float32) for k in z.files if k.startswith(PIXEL_PREFIX)}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise StreamError(f"{path} is not a readable landmark stream ({_why(exc)})") from None
    if not isinstance(meta, dict) or meta.get("format") != STREAM_FORMAT:
        raise StreamError(f"{path} is not a coach landmark stream")
    try:
        info = StreamInfo(clip=meta["clip"], fps=float(meta["fps"]), width=int(meta["width"]),
                          height=int(meta["height"]), blendshape_names=tuple(meta["blendshape_names"]),
                          session=str(meta.get("session", "")))
    except (KeyError, TypeError, ValueError):
        raise StreamError(f"{path} has incomplete metadata") from None
    scale = np.array([info.width, info.height, info.width], dtype=np.float64) * float(meta.get("quant", 64.0))
    pts = (np.cumsum(dq, axis=0) / scale).astype(np.float32)
    if any(len(a) != len(t) for a in pix.values()):
        raise StreamError(f"{path} has pixel readings for another number of frames")
    frames = []
    for i in range(len(t)):
        if has[i]:
            bs = dict(zip(info.blendshape_names, map(float, blend[i])))
            px_i = {k: a[i] for k, a in pix.items()} if pix else None
            frames.append(LandmarkFrame(float(t[i]), info.width, info.height, pts[i], bs, mat[i], i, px_i))
        else:
            frames.append(LandmarkFrame(float(t[i]), info.width, info.height, None, {}, None, i))
    return info, frames
