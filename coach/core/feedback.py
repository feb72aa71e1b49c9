"""What the screen and speaker should show, as plain data (no pygame here).

`Session.step` returns a `FeedbackView`; the display draws it and plays its cue.
A `NullDisplay` records views, so tests can assert on what a patient would see.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Points = npt.NDArray[np.floating[Any]]     # landmarks, (478, 3) normalised to the frame
Side = Literal["left", "right", ""]        # the patient's anatomical side ("": neither)
PromptKind = Literal["more", "less", "even", "ready", "longer", "neck"]   # try a little more | gentler | match the
                                            # sides | press Ready | hold a little longer | show the neck (core.neck.NECK_HINT)
MeterKind = Literal["prime", "watch"]      # toward the target | co-movement, with its threshold
# The screens: the session's own (one per state of `Session`), and the kiosk's keypads and error.
SessionScreen = Literal["welcome", "calibrate", "instruct", "countdown", "move", "hold", "relax", "rest", "paused",
                        "camera_lost", "confirm_quit", "summary", "progress"]
KioskScreen = Literal["kiosk_welcome", "kiosk_pin", "kiosk_error"]
Screen = SessionScreen | KioskScreen
Cue = Literal["countdown", "start", "move", "hold", "relax", "rest", "rep_done", "nudge", "synkinesis",
              "exercise_done", "session_done"]


@dataclass(frozen=True)
class Meter:
    """One bar: value and threshold are fractions (0..1 of the bar; may exceed 1)."""

    label: str          # e.g. "Smile – left"
    side: Side          # the patient's anatomical side
    kind: MeterKind     # "prime" (toward target) | "watch" (co-movement, with threshold)
    value: float
    threshold: float | None = None
    alert: bool = False


@dataclass(frozen=True)
class Button:
    """A touch target the screen offers: a touch or click gives `action`; `key` is its keyboard twin."""

    action: str          # e.g. "ready", "pause", "stop", "resume", "progress", "done", "back", "yes", "no"
    word: str            # what it says, e.g. "Ready"
    key: str = ""        # the key that does the same, e.g. "Enter" (shown at home, not at the kiosk)


@dataclass(frozen=True)
class FeedbackView:
    screen: Screen
    title: str = ""                   # large heading, e.g. the exercise name
    text: str = ""                    # plain-words instruction or hint
    meters: tuple[Meter, ...] = ()
    rep: int = 0                      # reps done in this set
    reps_total: int = 0
    hold_fraction: float | None = None  # hold ring 0..1, None when not holding
    countdown_s: float | None = None
    banner: str | None = None         # corrective message while synkinesis is active (what to change)
    highlight: tuple[tuple[str, str], ...] = ()  # (region, side) to highlight, e.g. ("eye", "left")
    neck: tuple[tuple[str, str], ...] = ()       # (side, "seen" | "not seen" | "can't tell"); () when not watched
    cue: Cue | None = None            # sound to play *now* (a name in sounds/), once
    summary: tuple[tuple[str, str], ...] = ()    # (label, value) rows: the summary in words
    points: Points | None = None      # landmarks (478,3 normalised) for mirror/mesh views, or None
    t: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    exercise_no: int = 0              # "Exercise 1 of 3" (0: not in an exercise)
    exercises_total: int = 0
    prompt: str | None = None         # amount or evenness coaching: "Try a little more." …
    prompt_kind: PromptKind | Literal[""] = ""   # "" when there is no prompt
    lagging: Side = ""                 # the side that is behind, while the sides diverge
    band: tuple[float, float] | None = None   # the target band on the prime bars (fractions of the target)
    buttons: tuple[Button, ...] = ()  # touch targets of this screen
    say: str | None = None            # spoken guidance for *now* (a phrase in sounds/voice/), once
    settings: dict[str, str] | None = None      # display settings to apply now (a patient's remembered ones), once
    table: tuple[tuple[str, ...], ...] = ()   # the summary as a table: a header row, then one row per exercise
    progress: dict[str, Any] | None = None      # the "Your progress" screen (coach.core.practice.progress_overview)


# Every sound, one per phase change and happening; each has its own character (scripts/make_sounds.py).
CUES: tuple[Cue, ...] = ("countdown", "start", "move", "hold", "relax", "rest", "rep_done", "nudge", "synkinesis",
        "exercise_done", "session_done")
