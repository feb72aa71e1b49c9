"""Running the kiosk: its locked-down display and `run_kiosk`, the kiosk on coach.app.run_loop.

Time comes from the frames (a replay, `clock=None`) or the wall clock (a camera).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

from coach.app import LoopStats, run_loop
from coach.core.feedback import FeedbackView
from coach.errors import CoachError
from coach.screen import keypad
from coach.screen.headless import headless_env
from coach.kiosk.config import KioskConfig
from coach.kiosk.machine import KEYPAD_SCREENS, Kiosk
from coach.kiosk.script import load_events


@dataclass
class KioskRun(LoopStats):
    exited: bool = False                              # staff left with the PIN
    problems: list = field(default_factory=list)      # what went wrong closing up (for the staff's terminal)

    @property
    def steps(self) -> int:
        return self.frames


def show(display, view: FeedbackView, rgb=None) -> None:
    """Keypad screens are drawn by coach.screen.keypad on a real window; the rest as usual."""
    if view.screen in KEYPAD_SCREENS and hasattr(display, "renderer") and hasattr(display, "screen"):
        keypad.draw(display, view)
    else:
        display.draw(view, rgb)


class LockedDisplay:
    """A display as the kiosk uses it: fullscreen (F does not leave it) when `fullscreen`,
    no pointer, keypad screens drawn large. Everything else is the display's own."""

    def __init__(self, display, fullscreen: bool):
        self.display, self.keep_fullscreen = display, fullscreen
        if fullscreen and not display.fullscreen:
            display.toggle_fullscreen()
        display.cursor_visible(False)

    def poll(self) -> list[str]:
        actions = list(self.display.poll())
        if self.keep_fullscreen and not self.display.fullscreen and "fullscreen" in actions:
            self.display.toggle_fullscreen()
        return actions

    def draw(self, view: FeedbackView, rgb=None) -> None:
        show(self.display, view, rgb)

    def __getattr__(self, name):
        return getattr(self.display, name)


def run_kiosk(kiosk: Kiosk, source, display, tracker=None, events=(),
              clock: Callable[[], float] | None = None, shots_dir: str | os.PathLike | None = None,
              after_end_s: float | None = None, should_stop=None, run: KioskRun | None = None) -> KioskRun:
    """Run the kiosk until staff close it, `should_stop()`, or (a replay) the source has ended,
    every scripted event is done and the kiosk is back at an empty welcome screen (or has
    waited `after_end_s`).

    `clock`: None takes time from the frames (a replay), time.monotonic the wall clock (a
    camera). `events`: (t, "action"|"camera", value). `shots_dir`: a screenshot at each
    screen change."""
    run = run or KioskRun()
    if after_end_s is not None:
        kiosk.after_end_s = after_end_s
    run_loop(source, kiosk, LockedDisplay(display, kiosk.config.fullscreen), clock=clock, tracker=tracker,
             events=events, shots=shots_dir, stats=run, should_stop=should_stop)
    run.exited = kiosk.exit_requested
    return run


def serve(*, db=None, config_path=None, camera=None, replay=None, model=None, headless=False, events=None,
          shots=None, windowed=False) -> tuple[Kiosk, KioskRun]:
    """`coach kiosk`: load the settings and events, open the store (a store that can't open is
    shown to staff on screen), the source and the display, and run the kiosk; everything is
    closed whatever happens. Returns (kiosk, run)."""
    config = KioskConfig.load(config_path)
    if windowed:
        config.fullscreen = False
    if not config.pin_hash and not headless:
        raise CoachError("Set a staff PIN first with `coach kiosk set-pin`: without it staff could not "
                         "close the kiosk.")
    script = load_events(events) if events else []
    if headless:
        headless_env(shots, audio="kiosk-audio.raw")
    store, store_error = _open_store(db)
    run, source, tracker, display = KioskRun(), None, None, None
    try:
        from coach.screen.display import PygameDisplay

        source, tracker = _open_source(replay, camera, model, headless)
        display = PygameDisplay(fullscreen=False, title="coach kiosk")
        kiosk = Kiosk(store, config, size=display.size, source_name=getattr(source, "name", "kiosk"),
                      store_error=store_error, after_end_s=max(120.0, 2 * config.idle_timeout_s))
        run_kiosk(kiosk, source, display, tracker=tracker, events=script,
                  clock=None if replay else time.monotonic, shots_dir=shots, run=run)
    finally:
        _close_quietly(source, tracker, display)
        if store is not None:
            try:
                store.close()
            except CoachError as exc:
                run.problems.append(str(exc))
    return kiosk, run


def _open_store(db):
    """A database that can't be opened is shown to staff on screen, not a crash loop."""
    from coach.log.store import Store

    try:
        return Store.open(db), None
    except CoachError as exc:
        return None, str(exc)


def _open_source(replay, camera, model, headless) -> tuple:
    """(source, tracker): a replay (no tracker), else the camera, retried until it is there."""
    if replay:
        from coach.camera.sources import ReplaySource
        return ReplaySource(replay, realtime=not headless), None
    from coach.camera.webcam import RetryingCamera
    from coach.camera.model import resolve
    from coach.camera.tracker import Tracker

    tracker = Tracker(resolve(model))
    index = int(camera) if camera and str(camera).isdigit() else (camera or 0)
    return RetryingCamera(index), tracker


def _close_quietly(*things) -> None:
    for thing in things:
        if thing is not None:
            try:
                thing.close()
            except Exception:   # closing must not hide the real error
                pass
