"""What the screen and speaker should show, as plain data (no pygame here).

`Session.step` returns a `FeedbackView`; the display draws it and plays its cue.
A `NullDisplay` records views, so tests can assert on what a patient would see.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Meter:
    """One bar: value and threshold are fractions (0..1 of the bar; may exceed 1)."""

    label: str          # e.g. "Smile – left"
    side: str           # "left" | "right" | "" (patient's anatomical side)
    kind: str           # "prime" (toward target) | "watch" (co-movement, with threshold)
    value: float
    threshold: float | None = None
    alert: bool = False


@dataclass(frozen=True)
class FeedbackView:
    screen: str                       # welcome|calibrate|instruct|move|hold|relax|rest|paused|camera_lost|summary|confirm_quit
    title: str = ""                   # large heading, e.g. the exercise name
    text: str = ""                    # plain-words instruction or hint
    meters: tuple[Meter, ...] = ()
    rep: int = 0                      # reps done in this set
    reps_total: int = 0
    hold_fraction: float | None = None  # hold ring 0..1, None when not holding
    countdown_s: float | None = None
    banner: str | None = None         # corrective message while synkinesis is active
    highlight: tuple[tuple[str, str], ...] = ()  # (region, side) to highlight, e.g. ("eye", "left")
    cue: str | None = None            # sound to play *now* (a name in sounds/), once
    summary: tuple[tuple[str, str], ...] = ()    # (label, value) rows on the summary screen
    points: object = None             # landmarks (478,3 normalised) for mirror/mesh views, or None
    t: float = 0.0
    extra: dict = field(default_factory=dict)


CUES = ("start", "hold", "rep_done", "synkinesis", "exercise_done", "session_done")
