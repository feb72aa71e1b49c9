"""The figures a session's screens read off each frame (pure): the countdown number, the hold ring's
fraction, the meters under the face, the neck's answer and the demonstration's frame. `Session.moment()` puts them in the
frozen `Moment` the screens draw from.
"""
from __future__ import annotations

import numpy as np

from coach.core import neck
from coach.core.calibration import REL_INDEX, Baseline
from coach.core.calibrator import Calibrator
from coach.core.demonstration import Demonstration
from coach.core.detector import Detector
from coach.core.exercises import Exercise
from coach.core.face import SIDES
from coach.core.feedback import Meter, Points
from coach.core.measures import Measures
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


NeckStates = tuple[tuple[str, str], ...]


def neck_readout(exercise: Exercise, detector: Detector | None, rel: np.ndarray | None, baseline: Baseline | None,
                 m: Measures | None) -> tuple[NeckStates, str]:
    """Per side, the neck's answer (`neck.NECK_STATES`), and what to tell the patient so it can be read;
    ((), "") when the exercise does not watch the neck."""
    if detector is None or not any(w.measure == "neck_bands" for w in exercise.watches):
        return (), ""
    values = rel[REL_INDEX["neck_bands"]] if rel is not None else np.full(2, np.nan)
    active = set(detector.active_synkinesis)
    states = tuple((side, neck.state(float(values[i]), ("neck_bands", side) in active)) for i, side in enumerate(SIDES))
    if all(s != "can't tell" for _, s in states):
        return states, ""
    now = m.readings.get("neck") if m is not None and m.readings else None
    return states, neck.hint(None if baseline is None else baseline.neck, now)
