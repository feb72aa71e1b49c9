"""The coach's screen and speaker: a pygame window, and a null twin for tests.

Both have one interface (nullable infrastructure): the game loop calls
`poll()` for UI actions, `draw(view, frame_rgb)` once per frame, and may call
`play(cue)`. `draw` also plays `view.cue` itself (and speaks `view.say` when
spoken guidance is on), so a cue is heard once per view that carries it. Every
cue has a visual twin (an icon and its word) that stays up for a moment, so a
muted or deaf patient misses nothing.

`poll()` handles the display's own settings (view mode, sound, voice, text size,
fullscreen) itself and still reports them; a setting the patient changed is also
reported as "set:name=value", so the session can remember it for next time. A
view's `settings` (the patient's remembered ones) are applied when it is drawn.

Actions: skip, pause, space, quit, view, mute, voice, text_size, progress,
fullscreen, yes, no, "key:0".."key:9", "key:backspace", "key:enter" (Enter also
gives "yes"), and "click:x,y" (a click on a drawn button gives that button's
action instead: ready, pause, stop, resume, progress, done, back, yes, no).
"""
from __future__ import annotations

import os
import time
from collections import deque
from typing import Callable, Iterable, Mapping

import numpy as np

from coach.core.feedback import FeedbackView
from coach.errors import CoachError
from coach.screen.palette import TextSize, View

VIEWS: tuple[View, ...] = ("mirror", "mesh", "meters")
TEXT_SIZES: tuple[TextSize, ...] = ("normal", "large", "largest")
FLASH_S = 1.5   # how long a cue's visual twin stays up: long enough to read one word


class _Settings:
    """What both displays share: view mode, sound and voice settings, text size, cue records and flashes."""

    def __init__(self, view: str, mute: bool, volume: float, clock: Callable[[], float], voice: bool = False,
                 text_size: str = "normal") -> None:
        self.view_mode = _check_view(view)
        self.muted = bool(mute)
        self.volume = min(max(float(volume), 0.0), 1.0)
        self.voice = bool(voice)
        self.text_size = _check_text_size(text_size)
        self.fullscreen = False
        self.cursor = True
        self.played: list[tuple[str, float]] = []   # (cue, view time) of every cue asked for
        self.said: list[tuple[str, float]] = []     # (phrase, view time) of everything spoken
        self._clock = clock
        self._flash: tuple[str, float] | None = None
        self._t = 0.0                                # time of the last view drawn

    @property
    def settings(self) -> dict[str, str]:
        """What a patient's preferences remember, as strings."""
        return {"view": self.view_mode, "sound": "off" if self.muted else "on", "voice": "on" if self.voice else "off",
                "volume": f"{self.volume:.2f}", "text_size": self.text_size}

    def apply_settings(self, settings: Mapping[str, str]) -> None:
        """A patient's remembered settings; unknown or broken values are ignored."""
        for name, value in (settings or {}).items():
            try:
                self._set(name, str(value))
            except ValueError:
                continue

    def _set(self, name: str, value: str) -> None:
        if name == "view":
            self.set_view(value)
        elif name == "sound":
            self.set_mute(value == "off")
        elif name == "voice":
            self.set_voice(value == "on")
        elif name == "volume":
            self.set_volume(float(value))
        elif name == "text_size":
            self.set_text_size(value)

    def set_view(self, name: str) -> None:
        self.view_mode = _check_view(name)

    def set_voice(self, on: bool) -> None:
        self.voice = bool(on)

    def set_text_size(self, name: str) -> None:
        self.text_size = _check_text_size(name)

    def set_mute(self, mute: bool) -> None:
        self.muted = bool(mute)

    def set_volume(self, volume: float) -> None:
        self.volume = min(max(float(volume), 0.0), 1.0)

    def toggle_fullscreen(self) -> None:
        self.fullscreen = not self.fullscreen

    def cursor_visible(self, visible: bool) -> None:
        self.cursor = bool(visible)

    def play(self, cue: str, say: str | None = None) -> None:
        """Play a cue (unless muted) and show its visual twin (always); with spoken guidance on,
        `say` follows it."""
        self.played.append((cue, self._t))
        self._flash = (cue, self._clock())
        spoken = say if self.voice and say else None
        if spoken:
            self.said.append((spoken, self._t))
        if not self.muted:
            self._sound(cue, spoken)

    def _sound(self, cue: str, say: str | None = None) -> None:
        pass

    def _flashing(self) -> str | None:
        if self._flash and self._clock() - self._flash[1] < FLASH_S:
            return self._flash[0]
        return None

    def _start_draw(self, view: FeedbackView) -> None:
        self._t = float(view.t)
        if view.settings:
            self.apply_settings(view.settings)
        if view.cue:
            self.play(view.cue, view.say)

    def _apply(self, actions: Iterable[str]) -> list[str]:
        """The display's own settings change here; each change is also reported as "set:name=value"."""
        out = []
        for a in actions:
            out.append(a)
            name = {"view": "view", "mute": "sound", "voice": "voice", "text_size": "text_size"}.get(a)
            if a == "view":
                self.set_view(VIEWS[(VIEWS.index(self.view_mode) + 1) % len(VIEWS)])
            elif a == "mute":
                self.set_mute(not self.muted)
            elif a == "voice":
                self.set_voice(not self.voice)
            elif a == "text_size":
                self.set_text_size(TEXT_SIZES[(TEXT_SIZES.index(self.text_size) + 1) % len(TEXT_SIZES)])
            elif a == "fullscreen":
                self.toggle_fullscreen()
            if name:
                out.append(f"set:{name}={self.settings[name]}")
        return out


def _check_view(name: str) -> View:
    for view in VIEWS:
        if view == name:
            return view
    raise ValueError(f"unknown view {name!r}: choose one of {', '.join(VIEWS)}")


def _check_text_size(name: str) -> TextSize:
    for size in TEXT_SIZES:
        if size == name:
            return size
    raise ValueError(f"unknown text size {name!r}: choose one of {', '.join(TEXT_SIZES)}")


class NullDisplay(_Settings):
    """Records what would be shown and heard; takes scripted actions.

    `actions` is either {frame_index: [action, ...]} — returned by the poll() made
    after `frame_index` frames have been drawn (so 0 is the first poll) — or a
    sequence of lists, one per poll() call.
    """

    def __init__(self, actions: Mapping[int, list[str]] | Iterable[list[str]] | None = None, *,
                 size: tuple[int, int] = (1280, 720), fullscreen: bool = False, view: str = "mirror",
                 mute: bool = False, volume: float = 0.8, sound_available: bool = True,
                 clock: Callable[[], float] = time.monotonic, voice: bool = False, text_size: str = "normal") -> None:
        super().__init__(view, mute, volume, clock, voice, text_size)
        self.size = tuple(size)
        self.fullscreen = bool(fullscreen)
        self.views: list[FeedbackView] = []
        self.frames: list[np.ndarray | None] = []   # the frame passed with each view (not copied)
        self.view_modes: list[str] = []             # the view mode each view was drawn in
        self.sounds_heard: list[str] = []           # cues that would have made a sound
        self.voices_heard: list[str] = []           # phrases that would have been spoken
        self.screenshots: list[str] = []
        self.sound_available = bool(sound_available)
        self.sound_problem = None if sound_available else "no sound device (null display)"
        self.closed = False
        self._by_frame: dict[int, list[str]] = {}
        self._queue: deque[list[str]] = deque()
        if isinstance(actions, Mapping):
            self._by_frame = {int(k): list(v) for k, v in actions.items()}
        elif actions is not None:
            self._queue.extend(list(a) for a in actions)

    def push(self, *actions: str) -> None:
        """Queue actions for the next poll()."""
        self._queue.append(list(actions))

    def poll(self) -> list[str]:
        out = list(self._by_frame.pop(len(self.views), []))
        if self._queue:
            out += self._queue.popleft()
        return self._apply(out)

    def draw(self, view: FeedbackView, frame_rgb: np.ndarray | None = None) -> None:
        self._start_draw(view)
        self.views.append(view)
        self.frames.append(frame_rgb)
        self.view_modes.append(self.view_mode)

    def _sound(self, cue: str, say: str | None = None) -> None:
        if self.sound_available:
            self.sounds_heard.append(cue)
            if say:
                self.voices_heard.append(say)

    def screenshot(self, path: str | os.PathLike) -> None:
        self.screenshots.append(os.fspath(path))   # writes nothing

    def close(self) -> None:
        self.closed = True

    @property
    def last(self) -> FeedbackView | None:
        return self.views[-1] if self.views else None


class PygameDisplay(_Settings):
    """A pygame window (1280x720 logical pixels) with low-latency cue sounds."""

    def __init__(self, size: tuple[int, int] = (1280, 720), fullscreen: bool = False,
                 view: str = "mirror", mute: bool = False, volume: float = 0.8, *,
                 title: str = "coach", sounds_dir: str | os.PathLike | None = None,
                 clock: Callable[[], float] = time.monotonic, voice: bool = False, text_size: str = "normal") -> None:
        super().__init__(view, mute, volume, clock, voice, text_size)
        import pygame

        from coach.screen import sound
        from coach.screen.render import Renderer
        self._pg = pygame
        self.size = (int(size[0]), int(size[1]))
        sound.pre_init()          # must precede pygame.init(), or the mixer opens with big buffers
        with sound.quiet_disk_driver():
            pygame.init()
        pygame.display.set_caption(title)
        self.screen = self._open(fullscreen)
        self.renderer = Renderer(self.size, self.text_size)
        self.sounds = sound.Sounds(sounds_dir, mute=mute, volume=self.volume)
        self._closed = False

    # -- settings --
    @property
    def sound_available(self) -> bool:
        return self.sounds.available

    @property
    def sound_problem(self) -> str | None:
        return self.sounds.problem

    def set_mute(self, mute: bool) -> None:
        super().set_mute(mute)
        self.sounds.set_mute(self.muted)

    def set_volume(self, volume: float) -> None:
        super().set_volume(volume)
        self.sounds.set_volume(self.volume)

    def set_text_size(self, name: str) -> None:
        super().set_text_size(name)
        if hasattr(self, "renderer"):
            self.renderer.set_text_size(self.text_size)

    def toggle_fullscreen(self) -> None:
        self.screen = self._open(not self.fullscreen)

    def cursor_visible(self, visible: bool) -> None:
        super().cursor_visible(visible)
        self._pg.mouse.set_visible(self.cursor)

    def _open(self, fullscreen: bool):
        screen = self._set_mode(fullscreen)
        self._pg.mouse.set_visible(self.cursor)
        return screen

    def _set_mode(self, fullscreen: bool):
        pg = self._pg
        if fullscreen:
            # SCALED keeps our 1280x720 layout and lets SDL fit it to the monitor.
            for flags in (pg.FULLSCREEN | pg.SCALED, pg.FULLSCREEN):
                try:
                    screen = pg.display.set_mode(self.size, flags)
                except pg.error:
                    continue
                if screen.get_size() == self.size:
                    self.fullscreen = True
                    return screen
        self.fullscreen = False
        try:
            screen = pg.display.set_mode(self.size)
        except pg.error as exc:
            pg.quit()
            raise CoachError(f"can't open a window ({exc}); is there a screen? "
                             "(headless runs: set SDL_VIDEODRIVER=dummy)") from None
        if screen.get_size() != self.size:
            # A failed fullscreen attempt can leave SDL's window stuck at another size:
            # start the video side afresh (sound, fonts and events are unaffected).
            caption = pg.display.get_caption()[0]
            pg.display.quit()
            pg.display.init()
            pg.display.set_caption(caption)
            screen = pg.display.set_mode(self.size)
        return screen

    # -- the loop's calls --
    def poll(self) -> list[str]:
        pg = self._pg
        out: list[str] = []
        for ev in pg.event.get():
            if ev.type == pg.QUIT:
                out.append("quit")
            elif ev.type == pg.KEYDOWN:
                if ev.key == pg.K_a and ev.mod & pg.KMOD_CTRL and ev.mod & pg.KMOD_ALT:
                    out.append("admin")      # the kiosk's staff exit (then a PIN)
                    continue
                out += _key_actions(pg, ev.key)
            elif ev.type == pg.MOUSEBUTTONDOWN and ev.button == 1:
                out.append(self._click(ev.pos))
        return self._apply(out)

    def _click(self, pos) -> str:
        for rect, action in self.renderer.buttons:
            if rect.collidepoint(pos):
                return action
        return f"click:{pos[0]},{pos[1]}"

    def draw(self, view: FeedbackView, frame_rgb: np.ndarray | None = None) -> None:
        self._start_draw(view)
        if not self.sounds.available:
            note = "No sound: watch for the signs"
        elif self.muted:
            note = "Sound off (press M)"
        else:
            note = ""
        self.renderer.draw(self.screen, view, frame_rgb, self.view_mode, self._flashing(), note)
        self._pg.display.flip()
        self.sounds.update()          # a phrase waiting for the one being said starts when it ends

    def _sound(self, cue: str, say: str | None = None) -> None:
        self.sounds.play(cue, say)

    def screenshot(self, path: str | os.PathLike) -> None:
        path = os.fspath(path)
        from coach.core.files import private_folder

        private_folder(os.path.dirname(os.path.abspath(path)))      # a screenshot shows the face: 0700
        self._pg.image.save(self.screen, path)
        os.chmod(path, 0o600)                                        # and the file is the patient's only

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pg.quit()


def _key_actions(pg, key: int) -> list[str]:
    named = {
        pg.K_s: "skip", pg.K_RIGHT: "skip",
        pg.K_p: "pause", pg.K_SPACE: "space",
        pg.K_q: "quit", pg.K_ESCAPE: "quit",
        pg.K_v: "view", pg.K_m: "mute", pg.K_f: "fullscreen",
        pg.K_o: "voice", pg.K_t: "text_size", pg.K_g: "progress",
        pg.K_y: "yes", pg.K_n: "no",
        pg.K_BACKSPACE: "key:backspace",
    }
    if key in named:
        return [named[key]]
    if key in (pg.K_RETURN, pg.K_KP_ENTER):
        return ["key:enter", "yes"]
    if pg.K_0 <= key <= pg.K_9:
        return [f"key:{key - pg.K_0}"]
    kp = (pg.K_KP0, pg.K_KP1, pg.K_KP2, pg.K_KP3, pg.K_KP4, pg.K_KP5, pg.K_KP6, pg.K_KP7, pg.K_KP8, pg.K_KP9)
    if key in kp:
        return [f"key:{kp.index(key)}"]
    return []
