"""Where the built-in exercises, sounds and data live, installed or in a checkout.

`pip install .` maps the top-level exercises/ and sounds/ folders into the
package (coach.exercises, coach.sounds); a source checkout reads them in place.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def builtin_dir(name: str) -> Path:
    """`name` is "exercises", "sounds" or "data"."""
    try:
        path = Path(str(resources.files(f"coach.{name}")))
        if path.is_dir():
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    for candidate in (_REPO / name, Path(__file__).resolve().parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"built-in folder {name!r} is missing from this installation")
