"""Finding, verifying and installing the MediaPipe FaceLandmarker model bundle.

Resolution order: explicit path (--model) or COACH_FACE_MODEL, then the user
cache dir, then a download from MediaPipe's model storage, checked by sha256.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

import platformdirs

from coach.errors import ModelMissing

MODEL_NAME = "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_SIZE = 3_758_596
MODEL_URL = ("https://storage.googleapis.com/mediapipe-models/face_landmarker/"
             "face_landmarker/float16/1/face_landmarker.task")
ENV_VAR = "COACH_FACE_MODEL"


def cache_path() -> Path:
    return Path(platformdirs.user_cache_dir("coach")) / MODEL_NAME


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path) -> None:
    if not path.is_file():
        raise ModelMissing(f"The face model {path} does not exist.")
    digest = sha256_of(path)
    if digest != MODEL_SHA256:
        raise ModelMissing(f"The face model {path} is not the expected file (sha256 {digest[:12]}…); "
                           f"install a good copy with `coach model install PATH`.")


def install(src: str | os.PathLike) -> Path:
    """Verify a copy and put it in the user cache dir."""
    src = Path(src)
    verify(src)
    dst = cache_path()
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return dst


def _download(dst: Path, progress: bool = True) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(MODEL_URL, timeout=20) as resp:
            total = int(resp.headers.get("Content-Length") or MODEL_SIZE)
            done = 0
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    bar = int(30 * done / max(total, 1))
                    print(f"\rDownloading face model [{'#' * bar}{'.' * (30 - bar)}] "
                          f"{done / 1e6:.1f}/{total / 1e6:.1f} MB", end="", file=sys.stderr)
        if progress:
            print(file=sys.stderr)
        verify(Path(tmp))
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def resolve(explicit: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Return a verified model path, or raise ModelMissing with one plain sentence."""
    named = explicit or os.environ.get(ENV_VAR)
    if named:
        path = Path(named).expanduser()
        verify(path)
        return path
    cached = cache_path()
    if cached.is_file():
        verify(cached)
        return cached
    if download:
        try:
            _download(cached)
            return cached
        except ModelMissing:
            raise
        except Exception:
            pass
    raise ModelMissing("The face model is not installed and could not be downloaded; "
                       "get face_landmarker.task and run `coach model install PATH` "
                       f"(or set {ENV_VAR}).")
