"""Finding, verifying and installing the MediaPipe FaceLandmarker model bundle.

Where coach looks, in order: an explicit path (--model), then the file named by
COACH_FACE_MODEL, then the user cache folder. The first place that names a file
decides: a missing or wrong file there is an error, never a silent fall-back.
Every file is checked by sha256.

Only `download()` (`coach model download`) goes to the internet; finding the
model (`resolve`, used by analyze, run and the kiosk) never does.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from coach.errors import ModelMissing

MODEL_NAME = "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_SIZE = 3_758_596
MODEL_URL = ("https://storage.googleapis.com/mediapipe-models/face_landmarker/"
             "face_landmarker/float16/1/face_landmarker.task")
ENV_VAR = "COACH_FACE_MODEL"
HOW_TO_INSTALL = (f"run `coach model download` (needs internet, {MODEL_SIZE / 1e6:.1f} MB), "
                  f"or `coach model install PATH` with a copy of {MODEL_NAME}, or set {ENV_VAR}=PATH")


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


@dataclass(frozen=True)
class Place:
    """One place coach looks for the model, and what it found there."""
    where: str                 # "--model", "$COACH_FACE_MODEL" or "user cache"
    path: Path | None          # None: the option or variable is not set
    state: str                 # "not given", "not set", "no file", "verified" or "wrong file (sha256 …)"

    @property
    def ok(self) -> bool:
        return self.state == "verified"

    @property
    def decides(self) -> bool:
        """An explicit place that names a file decides, whatever is there; the cache only if it has a file."""
        return self.path is not None and (self.where != "user cache" or self.state != "no file")

    def describe(self) -> str:
        return f"{self.where}: {self.path}: {self.state}" if self.path else f"{self.where}: {self.state}"


def _check(where: str, path: Path | None, unset: str) -> Place:
    if path is None:
        return Place(where, None, unset)
    if not path.is_file():
        return Place(where, path, "no file")
    digest = sha256_of(path)
    return Place(where, path, "verified" if digest == MODEL_SHA256 else f"wrong file (sha256 {digest[:12]}…)")


def search(explicit: str | os.PathLike | None = None) -> list[Place]:
    """Every place coach looks, in order, with what is there. Nothing is downloaded."""
    env = os.environ.get(ENV_VAR)
    return [_check("--model", Path(explicit).expanduser() if explicit else None, "not given"),
            _check(f"${ENV_VAR}", Path(env).expanduser() if env else None, "not set"),
            _check("user cache", cache_path(), "")]


def chosen(places: list[Place]) -> Place | None:
    """The place that decides which file is used (None: no model anywhere)."""
    return next((p for p in places if p.decides), None)


def resolve(explicit: str | os.PathLike | None = None) -> Path:
    """A verified model path, or ModelMissing saying where coach looked and how to install it."""
    places = search(explicit)
    place = chosen(places)
    if place is None:
        looked = "; ".join(p.describe() for p in places)
        raise ModelMissing(f"The face model is not installed (looked in {looked}); {HOW_TO_INSTALL}.")
    if place.path is None:
        raise ModelMissing(f"The face model is not installed ({place.describe()}); {HOW_TO_INSTALL}.")
    verify(place.path)          # raises with the reason: no such file, or the wrong file
    return place.path


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


def download(progress: bool = True) -> Path:
    """Download the model into the user cache (unless a verified copy is already there)."""
    dst = cache_path()
    if dst.is_file() and sha256_of(dst) == MODEL_SHA256:
        return dst
    try:
        _download(dst, progress)
    except ModelMissing:
        raise
    except Exception as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
        raise ModelMissing(f"The face model could not be downloaded from {MODEL_URL} ({reason}); "
                           f"copy {MODEL_NAME} from your clinic and run `coach model install PATH`.") from None
    return dst


def _download(dst: Path, progress: bool = True) -> None:
    from coach.bars import bar

    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(MODEL_URL, timeout=20) as resp, \
                bar("Downloading face model", int(resp.headers.get("Content-Length") or MODEL_SIZE), "B",
                    scale=True, quiet=not progress) as shown:
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                shown.update(len(chunk))
        verify(Path(tmp))
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
