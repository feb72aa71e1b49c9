"""The session at one moment, as a frozen snapshot: what the screens draw from (pure).

`Session.moment(t)` builds a `Moment`; `coach.core.screens` composes the screens from it
and never sees the `Session` itself, so the two cannot grow into each other again.
The names of the session's states and the exercise tally live here too, where the
session and the screens can both import them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from coach.core.coaching import Prompt
from coach.core.events import Rep, Synkinesis
from coach.core.exercises import Exercise
from coach.core.feedback import Meter, Points, SessionScreen
from coach.core.progress import synkinesis_free
from coach.core.practice import History

State = SessionScreen       # the session's state names its screen
PauseReason = Literal["", "user", "face", "camera_lost"]      # "": not paused
Status = Literal["in-progress", "completed", "interrupted"]
Highlight = tuple[tuple[str, str], ...]                        # (region, side) pairs to ring on the face

EXERCISE_STATES: tuple[State, ...] = ("instruct", "countdown", "move", "hold", "relax", "rest")
ALERT_STATES: tuple[State, ...] = ("move", "hold")   # the Careful banner, its sound and prompts: only while moving
COUNTDOWN_S = 3.0         # 3, 2, 1 into the first rep of an exercise


@dataclass
class ExerciseTally:
    """One exercise's reps and co-movement events so far (the session's running record)."""

    exercise: Exercise
    reps: list[Rep] = field(default_factory=list)
    events: list[Synkinesis] = field(default_factory=list)

    @property
    def clean_reps(self) -> int:
        return synkinesis_free(self.reps)


@dataclass(frozen=True)
class SetSoFar:
    """An exercise's reps at this moment (a copy: the session's own tally keeps growing)."""

    exercise: Exercise
    reps: tuple[Rep, ...]


@dataclass(frozen=True)
class Place:
    """Where the patient is: exercise `exercise_no` of `exercises_total`, `rep` reps of `reps_total` done."""

    exercise_no: int
    exercises_total: int
    rep: int
    reps_total: int


@dataclass(frozen=True)
class Moment:
    t: float
    state: State
    status: Status
    pause_reason: PauseReason
    exercise: Exercise                   # the exercise under way (the last one once the session ends)
    place: Place
    ticks: int                           # countdown seconds sounded so far
    countdown_s: float | None            # the number in the ring or on the card, or None
    hold_fraction: float | None          # the hold ring, 0..1, while holding
    banner: tuple[str, Highlight] | None  # the fix to show, and where on the face, while co-movement lasts
    meters: tuple[Meter, ...]
    prompt: Prompt | None                # amount or evenness coaching, or a reminder the session put up
    pose_hint: str                       # "Turn to face the camera" …, or ""
    calibrate_hint: str                  # what to change before calibration can go on, or ""
    points: Points | None                # the face's landmarks for the mirror and mesh views
    demo_points: Points | None = None    # the instructions' animated demonstration, when there is one
    demo_phase: str = ""
    sets: tuple[SetSoFar, ...] = ()      # every exercise of the plan, with its reps so far
    reached: int = 0                     # index of the exercise under way
    previous: Mapping[str, float] = field(default_factory=dict)   # {exercise id: last session's rate}
    history: History | None = None       # for "Your progress", or None (no such screen)
    reminder: str | None = None          # a word the session repeats when a state lasts past its plan
    neck: tuple[tuple[str, str], ...] = ()   # (side, "seen" | "not seen" | "can't tell"); () when not watched
    neck_hint: str = ""                  # how to show the neck ("Lower the camera a little …"), or ""
