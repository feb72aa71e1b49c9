"""Cue sounds and spoken guidance through pygame.mixer, degrading to silence without an audio device.

Call `pre_init()` before `pygame.init()`: the mixer's buffer size is fixed when it
opens, and a small buffer (256 samples, about 6 ms) keeps cues in time with what
the patient sees.

Spoken guidance (optional) plays short phrases pre-rendered by scripts/make_voice.py
into sounds/voice/, one file per phrase, named by `voice_file(phrase)`; a phrase with
no file is silently skipped. Phrases go through a `SpeechQueue`: a phrase is never
cut. A newer phrase of higher (or the same) priority waits for the end of the one
being said; one of lower priority is dropped (the co-movement alert comes first, then
the phases, then the prompts and reminders: `PRIORITY`). Tones play at once on their
own channels (never the voice's), under the voice (at DUCK of their volume while a
phrase is said), and a phrase starts after its own tone.
"""
from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pygame

from coach.core.feedback import CUES
from coach.quiet import hushed_stderr
from coach.resources import builtin_dir

RATE, BUFFER = 44100, 256
VOICE_DIR = "voice"
PRIORITY = {"synkinesis": 3, "nudge": 1}   # what a phrase follows; any other cue (a phase change): 2
PHASE_PRIORITY = 2
MAX_WAIT_S = 4.0      # a phrase that could not start this long after its cue is dropped: its moment has passed
DUCK = 0.5            # a tone's volume while a phrase is being said
VOICE_CHANNEL = 0     # reserved for the voice: tones play on the mixer's other channels


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


def priority(cue: str) -> int:
    return PRIORITY.get(cue, PHASE_PRIORITY)


@dataclass
class _Phrase:
    text: str
    priority: int
    length_s: float
    asked: float          # when its cue came
    not_before: float     # after its own tone


class SpeechQueue:
    """When each phrase is said, by its priority, on a clock: pure logic (`Sounds` plays what it says).

    `say(...)` when a cue brings a phrase; `due()` every frame: the phrase to start now, if any. A phrase
    is never cut: while one is being said (its length from when it started), a newer phrase of the same
    or a higher priority waits for its end, and one of lower priority than it, or than one waiting, is
    dropped; a waiting phrase of lower priority than a newer one is dropped too (it is stale), as is one
    that has waited MAX_WAIT_S."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_wait_s: float = MAX_WAIT_S):
        self.clock, self.max_wait_s = clock, max_wait_s
        self.current: _Phrase | None = None
        self._ends = 0.0
        self.waiting: list[_Phrase] = []
        self.dropped: list[str] = []

    def speaking(self) -> bool:
        return self.current is not None and self.clock() < self._ends

    def say(self, text: str, prio: int, length_s: float, after_s: float = 0.0) -> bool:
        """Queue `text` (False: dropped). `after_s`: not before its tone has sounded this long."""
        now = self.clock()
        ranks = [p.priority for p in self.waiting] + ([self.current.priority] if self.current is not None
                                                      and self.speaking() else [])
        if ranks and prio < max(ranks):
            self.dropped.append(text)
            return False
        self.dropped += [p.text for p in self.waiting if p.priority < prio]
        self.waiting = [p for p in self.waiting if p.priority >= prio]
        self.waiting.append(_Phrase(text, prio, float(length_s), now, now + after_s))
        return True

    def due(self) -> str | None:
        """The phrase to start now (it is then the one being said), or None."""
        now = self.clock()
        if self.speaking():
            return None
        while self.waiting:
            nxt = self.waiting[0]
            if now - nxt.asked > self.max_wait_s:
                self.dropped.append(self.waiting.pop(0).text)
                continue
            if now < nxt.not_before:
                return None
            self.current = self.waiting.pop(0)
            self._ends = now + self.current.length_s
            return self.current.text
        return None

    def clear(self) -> None:
        self.current, self.waiting = None, []


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
        self.speech = SpeechQueue()
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
        self._voice_channel = pygame.mixer.Channel(VOICE_CHANNEL)
        self._apply_volume()

    def play(self, cue: str, say: str | None = None) -> bool:
        """True when a tone started or a phrase was queued. The cue's tone plays at once on a channel of
        its own (under a phrase being said); `say`: a phrase to speak after it, through the speech queue."""
        if self.muted or not self.available:
            return False
        sound = self._sounds.get(cue)
        phrase = self._voice(say) if say else None
        channel = sound.play() if sound is not None else None     # never the reserved voice channel
        if channel is not None:
            channel.set_volume(DUCK if self._voice_channel is not None and self._voice_channel.get_busy() else 1.0)
        queued = phrase is not None and say is not None and self.speech.say(say, priority(cue), phrase.get_length(),
                                                        sound.get_length() if sound is not None else 0.0)
        self.update()
        return channel is not None or queued

    def update(self) -> None:
        """Start the phrase that is due (call every frame: the display does, on each draw)."""
        if not self.available or self._voice_channel is None:
            return
        if self._voice_channel.get_busy():
            return
        text = self.speech.due()
        voice = self._voices.get(text) if text is not None else None
        if voice is not None:
            self._voice_channel.play(voice)

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
            self.speech.clear()

    def _apply_volume(self) -> None:
        for s in (*self._sounds.values(), *(v for v in self._voices.values() if v is not None)):
            s.set_volume(self.volume)


def _clamp(v: float) -> float:
    return min(max(float(v), 0.0), 1.0)
