"""A session's pacing rules (pure): how long each state is planned to last, what it says when it runs
long, and when a hold ends.

No state waits on the patient without a word: letting go before the hold ends
ends the hold (relax, rest, then "try to hold a little longer"; the rep is kept,
marked `short_hold`), a hold that sags ends HOLD_SLACK_S after its planned
length, and a state that has lasted REMIND_S past its planned length with no cue
repeats one (a prompt on screen, a sound and its phrase): the instructions ask
for Ready, the move phase for a little more, a rest that a held movement keeps
open to relax, a lost face to face the camera, calibration to keep still.
`coach.core.session.Session` applies these rules; nothing here keeps a session's state but the `Hold`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from coach.core import screens as views
from coach.core.calibrator import CALIBRATE_S
from coach.core.coaching import MORE
from coach.core.exercises import Exercise
from coach.core.feedback import Cue, PromptKind
from coach.core.moment import COUNTDOWN_S, PauseReason, State

INSTRUCT_S = 2.0          # a replay or the demo reads the instructions this long (a patient presses Ready): the
                          # demo recording smiles from 10 s, after its 3-2-1
HOLD_START = 0.6          # the hold starts at 60 % of the target; its countdown runs while the detector
                          # says the patient is holding (`Detector.holding`, the logged hold time's definition)
SHORT_BY_S = 0.5          # let go this near the hold's end is a whole hold (not "hold a little longer")
LET_GO_RELAX_S = 1.0      # after a hold let go early, "relax" shows this long before the rest (time to say it)
HOLD_SLACK_S = 4.0        # a hold that never settles (sagging below 80 % of its peak) ends this long after plan
REMIND_S = 8.0            # a state this long past its planned length with no cue repeats one (under 10 s)


def planned_s(state: str, exercise: Exercise, pause_reason: PauseReason) -> float | None:
    """How long `state` is planned to last; None for the screens that wait on a choice (welcome, progress,
    summary, a pause the patient asked for, stop?, the camera)."""
    return {"calibrate": CALIBRATE_S, "instruct": INSTRUCT_S, "countdown": COUNTDOWN_S, "move": exercise.move_s,
            "hold": exercise.hold_s, "relax": exercise.relax_s, "rest": exercise.rest_s,
            "paused": 0.0 if pause_reason == "face" else None}.get(state)


@dataclass(frozen=True)
class Reminder:
    """What a state that has run long says again."""

    cue: Cue                                      # the sound (and its phrase)
    words: str | None = None                      # on a screen without a prompt (calibrate, paused)
    prompt: tuple[PromptKind, str] | None = None  # the exercise screen's prompt line


REMINDERS: dict[str, Reminder] = {
    "calibrate": Reminder("nudge", words=views.KEEP_STILL),
    "paused": Reminder("nudge", words=views.FACE_CAMERA),
    "instruct": Reminder("nudge", prompt=("ready", views.PRESS_READY)),
    "move": Reminder("nudge", prompt=("more", MORE)),
    # still holding a movement: "now slowly relax"
    "hold": Reminder("relax"), "relax": Reminder("relax"), "rest": Reminder("relax"),
}


def reminder(state: State, planned: float | None, quiet_since: float, t: float) -> Reminder | None:
    """The reminder due at `t` from a state REMIND_S past its planned length since its start or its
    last cue (`quiet_since`), else None."""
    if planned is None or t - quiet_since < planned + REMIND_S:
        return None
    return REMINDERS.get(state)


HoldEnd = Literal["let_go", "done"]


@dataclass
class Hold:
    """One hold's countdown, and when it ends: let go early, held long enough, or sagging too long."""

    left: float = 0.0          # seconds still to hold; the countdown runs while the patient is holding
    rep: bool = False          # a rep has been under way during this hold

    def start(self, hold_s: float, in_rep: bool) -> None:
        self.left, self.rep = hold_s, in_rep

    @property
    def short(self) -> bool:
        """Let go now, the hold would be short ("try to hold a little longer"; the rep's `short_hold`)."""
        return self.left > SHORT_BY_S

    def step(self, dt: float, *, holding: bool, in_rep: bool, moving: bool, elapsed: float,
             hold_s: float) -> HoldEnd | None:
        """`dt` seconds more of the hold (`elapsed` since it began): how it ends now, if it does."""
        # The countdown runs while the patient is holding, as the logged hold time counts it.
        if holding:
            self.left -= dt
        self.rep = self.rep or in_rep
        let_go = not in_rep and (self.rep or not moving)
        if self.left > 0 and let_go:
            return "let_go"
        if self.left <= 0 or elapsed >= hold_s + HOLD_SLACK_S:
            return "done"
        return None
