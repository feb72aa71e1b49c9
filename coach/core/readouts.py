"""The figures a session's screens read off each frame (pure): the countdown number, the hold ring's
fraction, the meters under the face and the demonstration's frame. `Session.moment()` puts them in the
frozen `Moment` the screens draw from.
"""
from __future__ import annotations

from coach.core.calibrator import Calibrator
from coach.core.demonstration import Demonstration
from coach.core.detector import Detector
from coach.core.exercises import Exercise
from coach.core.face import SIDES
from coach.core.feedback import Meter, Points
from coach.core.moment import COUNTDOWN_S, State


def countdown_at(state: State, t: float, elapsed: float, exercise: Exercise, calibrator: Calibrator,
                 hold_left: float) -> tuple[float | None, float | None]:
    """The number on the screen (seconds left) and the hold ring's fraction, in `state` at `t`, `elapsed`
    seconds into it, with `hold_left` seconds of the hold still to do."""
    if state == "calibrate":
        return (None if calibrator.hint else calibrator.left(t)), None
    if state == "hold":
        left = max(0.0, hold_left)
        return left, 1.0 - left / exercise.hold_s
    if state == "rest":
        return max(0.0, exercise.rest_s - elapsed), None
    if state == "countdown":
        return max(0.0, COUNTDOWN_S - elapsed), None
    return None, None


def meters(detector: Detector | None, exercise: Exercise, alerting: bool) -> tuple[Meter, ...]:
    """The prime mover's bar and each watch's bar, per side; `alerting`: the Careful banner shows, so the
    watches under way are lit."""
    if detector is None:
        return ()
    # Labels name the movement; the display shows each side under its bar.
    out = [Meter(exercise.prime.label, side, "prime", float(detector.side_levels[i]), 1.0)
           for i, side in enumerate(SIDES)]
    active = set(detector.active_synkinesis) if alerting else set()
    for wi, w in enumerate(exercise.watches):
        for i, side in enumerate(SIDES):
            # The bar shows how near this side is to an alert (compared with the other
            # side, as the detector judges it); full at twice that, so the line is mid-bar.
            out.append(Meter(w.label, side, "watch", float(detector.watch_scores[wi, i]) / 2, 0.5,
                             (w.measure, side) in active))
    return tuple(out)


def demonstration_at(demo: Demonstration | None, state: State, shown: float) -> tuple[Points | None, str]:
    """The demonstration face's landmarks and its phase's name, `shown` seconds into the instructions."""
    if state != "instruct" or demo is None:
        return None, ""
    return demo.points(shown), demo.phase(shown)
