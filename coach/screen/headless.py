"""A whole run with no screen or sound card: SDL's dummy video and disk audio drivers."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def headless_env(folder: str | os.PathLike | None = None, audio: str = "audio.raw") -> Path:
    """Point SDL at its dummy video and disk audio drivers, the audio captured to `folder`/`audio`
    (`folder` is created; None: the temp folder). Call it before pygame opens a window."""
    folder = Path(folder) if folder else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ["SDL_AUDIODRIVER"] = "disk"
    os.environ["SDL_DISKAUDIOFILE"] = str(folder / audio)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    return folder
