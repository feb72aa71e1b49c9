"""Cue sounds and spoken guidance through pygame.mixer, degrading to silence without an audio device.

Call `pre_init()` before `pygame.init()`: the mixer's buffer size is fixed when it
opens, and a small buffer (256 samples, about 6 ms) keeps cues in time with what
the patient sees.

Spoken guidance (optional) plays short phrases pre-rendered by scripts/make_voice.py
into sounds/voice/, one file per phrase, named by `voice_file(phrase)`. A phrase
follows its cue on a channel of its own; a phrase with no file is silently skipped.
"""
from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pygame

from coach.core.feedback import CUES
from coach.quiet import hushed_stderr
from coach.resources import builtin_dir

RATE, BUFFER = 44100, 256
VOICE_DIR = "voice"


def pre_init() -> None:
    pygame.mixer.pre_init(RATE, -16, 1, BUFFER)


@contextlib.contextmanager
def quiet_disk_driver():
    """SDL's disk audio driver (headless runs) announces itself on stderr with two "CRITICAL:" lines
    that look like failures: hush stderr while the mixer opens with it, and only then."""
    if os.environ.get("SDL_AUDIODRIVER") != "disk":
        yield
        return
    with hushed_stderr():
        yield


def voice_file(phrase: str) -> str:
    """The file name of a spoken phrase: its words, lower case, joined by '-' (at most 60 characters)."""
    words = re.findall(r"[a-z0-9]+", phrase.lower())
    return "-".join(words)[:60].rstrip("-") + ".wav"


class Sounds:
    """Plays named cues and phrases. `available` is False (and `problem` says why) without a device."""

    def __init__(self, folder: str | os.PathLike[str] | None = None, *, mute: bool = False,
                 volume: float = 0.8) -> None:
        self.muted = bool(mute)
        self.volume = _clamp(volume)
        self.available = False
        self.problem: str | None = None
        self._sounds: dict[str, pygame.mixer.Sound] = {}
        self._voices: dict[str, pygame.mixer.Sound | None] = {}
        self._voice_channel: pygame.mixer.Channel | None = None
        try:
            if not pygame.mixer.get_init():
                with quiet_disk_driver():
                    pygame.mixer.init(RATE, -16, 1, BUFFER)
        except pygame.error as exc:   # no audio device: the coach still works, silently
            self.problem = f"no sound device ({exc})"
            return
        self.folder = Path(folder) if folder is not None else builtin_dir("sounds")
        missing = []
        for cue in CUES:   # loaded once: decoding on every play would add latency
            path = self.folder / f"{cue}.wav"
            try:
                self._sounds[cue] = pygame.mixer.Sound(str(path))
            except (pygame.error, FileNotFoundError):
                missing.append(cue)
        if missing:
            self.problem = f"missing cue sounds: {', '.join(missing)}"
        self.available = bool(self._sounds)
        pygame.mixer.set_reserved(1)
        self._voice_channel = pygame.mixer.Channel(0)
        self._apply_volume()

    def play(self, cue: str, say: str | None = None) -> bool:
        """True when a sound actually started. `say`: a phrase to speak right after the cue."""
        if self.muted or not self.available:
            return False
        sound = self._sounds.get(cue)
        phrase = self._voice(say) if say else None
        if phrase is not None and self._voice_channel is not None:
            # The cue, then the phrase, on the voice channel: a newer phrase replaces an older one.
            if sound is not None:
                self._voice_channel.play(sound)
                self._voice_channel.queue(phrase)
            else:
                self._voice_channel.play(phrase)
            return True
        if sound is None:
            return False
        return sound.play() is not None

    def _voice(self, phrase: str):
        if phrase not in self._voices:
            path = self.folder / VOICE_DIR / voice_file(phrase)
            try:
                voice = self._voices[phrase] = pygame.mixer.Sound(str(path))
                voice.set_volume(self.volume)
            except (pygame.error, FileNotFoundError):
                self._voices[phrase] = None
        return self._voices[phrase]

    def set_volume(self, volume: float) -> None:
        self.volume = _clamp(volume)
        self._apply_volume()

    def set_mute(self, mute: bool) -> None:
        self.muted = bool(mute)
        if self.muted and self.available:
            pygame.mixer.stop()

    def _apply_volume(self) -> None:
        for s in (*self._sounds.values(), *(v for v in self._voices.values() if v is not None)):
            s.set_volume(self.volume)


def _clamp(v: float) -> float:
    return min(max(float(v), 0.0), 1.0)
