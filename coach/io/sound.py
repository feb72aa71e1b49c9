"""Cue sounds through pygame.mixer, degrading to silence when there is no audio device.

Call `pre_init()` before `pygame.init()`: the mixer's buffer size is fixed when it
opens, and a small buffer (256 samples, about 6 ms) keeps cues in time with what
the patient sees.
"""
from __future__ import annotations

from pathlib import Path

import pygame

from coach.core.feedback import CUES
from coach.resources import builtin_dir

RATE, BUFFER = 44100, 256


def pre_init() -> None:
    pygame.mixer.pre_init(RATE, -16, 1, BUFFER)


class Sounds:
    """Plays named cues. `available` is False (and `problem` says why) without a device."""

    def __init__(self, folder: Path | None = None, *, mute: bool = False, volume: float = 0.8) -> None:
        self.muted = bool(mute)
        self.volume = _clamp(volume)
        self.available = False
        self.problem: str | None = None
        self._sounds: dict[str, pygame.mixer.Sound] = {}
        try:
            if not pygame.mixer.get_init():
                pygame.mixer.init(RATE, -16, 1, BUFFER)
        except pygame.error as exc:   # no audio device: the coach still works, silently
            self.problem = f"no sound device ({exc})"
            return
        folder = Path(folder) if folder is not None else builtin_dir("sounds")
        missing = []
        for cue in CUES:   # loaded once: decoding on every play would add latency
            path = folder / f"{cue}.wav"
            try:
                self._sounds[cue] = pygame.mixer.Sound(str(path))
            except (pygame.error, FileNotFoundError):
                missing.append(cue)
        if missing:
            self.problem = f"missing cue sounds: {', '.join(missing)}"
        self.available = bool(self._sounds)
        self._apply_volume()

    def play(self, cue: str) -> bool:
        """True when a sound actually started."""
        if self.muted or not self.available:
            return False
        sound = self._sounds.get(cue)
        if sound is None:
            return False
        return sound.play() is not None

    def set_volume(self, volume: float) -> None:
        self.volume = _clamp(volume)
        self._apply_volume()

    def set_mute(self, mute: bool) -> None:
        self.muted = bool(mute)
        if self.muted and self.available:
            pygame.mixer.stop()

    def _apply_volume(self) -> None:
        for s in self._sounds.values():
            s.set_volume(self.volume)


def _clamp(v: float) -> float:
    return min(max(float(v), 0.0), 1.0)
