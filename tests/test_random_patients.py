"""Issue 19, item 1: no state waits forever on the patient.

Scripted patients, drawn at random with a fixed seed, go through every exercise in exercises/*.toml on
landmark streams made on the spot (the calm face of tests/data/single_face.landmarks.npz moved by the
exercise's own movement, as `coach.core.demonstration.performed` does): they let go early or late, do not
move at all for a while, try the movement while the instructions show, press Ready late or never, and
leave the frame. Whatever they do, no state of the session lasts more than 10 s beyond its planned length
without a cue, on screen (the view's words, or a prompt) and by sound (a cue, with a phrase to say for
every reminder); and the coach never says "relax" while the patient is starting a movement.

The fast loop runs a few patients an exercise; the slow run 200 an exercise.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from coach.core.calibrator import CALIBRATE_S
from coach.core.demonstration import Demonstration
from coach.core.frames import LandmarkFrame
from coach.core.session import COUNTDOWN_S, INSTRUCT_S, Session
from streams import session_stream

FPS = 15.0             # coarser than a camera, to run many patients; every rule of the coach is in seconds
LIMIT_S = 10.0         # issue 19: no state more than 10 s past its plan without a cue
WELCOME_S = 1.0
SESSION_S = 150.0      # each patient's whole visit at most
EXERCISES = ("brow-lift", "gentle-eye-closure", "gentle-smile", "lip-pucker", "open-mouth-smile", "snarl")
SEED = 19


def planned(state: str, ex) -> float | None:
    """Each state's planned length, from the exercise file and the coach's documented pacing."""
    return {"welcome": WELCOME_S, "calibrate": CALIBRATE_S, "instruct": INSTRUCT_S, "countdown": COUNTDOWN_S,
            "move": ex.move_s, "hold": ex.hold_s, "relax": ex.relax_s, "rest": ex.rest_s,
            "paused": 0.0}.get(state)


def smooth(u: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * min(max(u, 0.0), 1.0))


class Patient:
    """One scripted patient: reacts to the screen it is shown with a latency, holds for a drawn length
    (early, about right, late), sometimes does not move, tries the movement during the instructions, is
    slow to press Ready (or never does) and leaves the frame now and then."""

    def __init__(self, rng: np.random.Generator, ex):
        self.rng, self.ex = rng, ex
        self.ready_after = float(rng.uniform(0.5, 30.0)) if rng.random() > 0.1 else math.inf
        self.tries_reading = rng.random() < 0.5
        self.leave_rate = float(rng.choice([0.0, 1 / 60, 1 / 20]))   # leaves per second
        self.away_until = -1.0
        self.move: tuple | None = None          # (start, rise, hold, fall, size)
        self.planned_start: float | None = None
        self.instruct_since: float | None = None
        self.ready_pressed = False
        self.last_screen = ""

    def _new_move(self, t: float) -> None:
        rng, ex = self.rng, self.ex
        kind = rng.choice(["early", "right", "late"], p=[0.4, 0.3, 0.3])
        hold = {"early": rng.uniform(0.1, 0.8) * ex.hold_s, "right": ex.hold_s + rng.uniform(0.0, 1.5),
                "late": ex.hold_s + rng.uniform(3.0, 25.0)}[kind]
        self.move = (t, float(rng.uniform(0.4, 2.5)), float(hold), float(rng.uniform(0.3, 2.5)),
                     float(rng.uniform(0.3, 1.6)))

    def rising(self, t: float) -> bool:
        return self.move is not None and self.move[0] <= t < self.move[0] + self.move[1]

    def level(self, t: float) -> float:
        if self.move is None:
            return 0.0
        start, rise, hold, fall, size = self.move
        u = t - start
        if u > rise + hold + fall:
            self.move = None
            return 0.0
        if u < rise:
            return size * smooth(u / rise)
        if u < rise + hold:
            return size
        return size * (1.0 - smooth((u - rise - hold) / fall))

    def act(self, t: float, screen: str) -> tuple[bool, list[str]]:
        """(face in view, actions) for this frame, given the screen now showing."""
        rng, actions = self.rng, []
        if t < self.away_until:
            return False, actions
        if self.leave_rate and rng.random() < self.leave_rate / FPS and self.move is None:
            self.away_until = t + float(rng.uniform(0.3, 20.0))
            return False, actions
        if screen == "instruct":
            self.instruct_since = t if self.last_screen != "instruct" else self.instruct_since
            if not self.ready_pressed and t - self.instruct_since >= self.ready_after:
                self.ready_pressed = True
                actions.append("ready")
            elif self.tries_reading and self.move is None and rng.random() < 0.3 / FPS:
                self._new_move(t)              # trying it while reading
        elif screen == "move" and self.move is None:
            if self.last_screen != "move" or self.planned_start is None:
                # Reacts after a moment; now and then not at all for a long while.
                wait = rng.uniform(0.2, 2.0) if rng.random() > 0.2 else rng.uniform(10.0, 40.0)
                self.planned_start = t + float(wait)
            if t >= self.planned_start:
                self.planned_start = None
                self._new_move(t)
        elif screen == "rest" and self.move is None and rng.random() < 0.05 / FPS:
            self._new_move(t)                  # moves during the rest
        self.last_screen = screen
        return True, actions


def visit(ex, calm: LandmarkFrame, unit: np.ndarray, rng: np.random.Generator):
    """One scripted patient's session: the views shown, and the times the patient was starting a movement."""
    session = Session([ex], welcome_s=WELCOME_S)
    patient = Patient(rng, ex)
    views, rising = [], []
    screen = "welcome"
    noise = rng.normal(0, 0.0003, (64, *calm.points.shape)).astype(np.float32)
    for i in range(int(SESSION_S * FPS)):
        t = i / FPS
        face, actions = patient.act(t, screen)
        level = patient.level(t)
        if face:
            pts = calm.points + level * unit + noise[i % len(noise)]
            frame = LandmarkFrame(t, calm.width, calm.height, pts, index=i)
        else:
            frame = LandmarkFrame(t, calm.width, calm.height, None, index=i)
        view = session.step(frame, t, actions).view
        views.append(view)
        if patient.rising(t) and level < 0.5 * patient.move[4]:
            rising.append(t)
        screen = view.screen
        if screen == "summary":
            break
    return session, views, rising


def quiet_stretches(views, ex) -> list[tuple[str, float, float, float]]:
    """Per visit of a state: (state, start, longest stretch without a cue, planned length)."""
    out, i = [], 0
    while i < len(views):
        state, start = views[i].screen, views[i].t
        marks, j = [start], i
        while j < len(views) and views[j].screen == state:
            if views[j].cue:
                marks.append(views[j].t)
            j += 1
        end = views[j].t if j < len(views) else views[-1].t
        marks.append(end)
        out.append((state, start, float(np.diff(marks).max()) if len(marks) > 1 else 0.0, planned(state, ex)))
        i = j
    return out


def check_patients(library, exercise_id: str, n: int) -> None:
    ex = library[exercise_id]
    calm = session_stream(0.2)[0]
    demo = Demonstration(calm, ex.prime, ex.prime.target, ex.move_s, ex.hold_s, ex.relax_s)
    unit = (demo.size * demo._unit).astype(np.float32)
    rng = np.random.default_rng([SEED, EXERCISES.index(exercise_id)])
    seen_states = set()
    for k in range(n):
        session, views, rising = visit(ex, calm, unit, rng)
        for state, start, quiet, plan in quiet_stretches(views, ex):
            seen_states.add(state)
            if plan is None:
                continue          # a screen the patient chose (summary, or a pause they asked for)
            assert quiet <= plan + LIMIT_S, (exercise_id, k, state, start, quiet, plan)
        for v in views:
            if v.cue:
                assert v.text.strip(), (exercise_id, k, v.screen, v.t)          # on screen, in words
            if v.cue == "nudge":
                assert v.say, (exercise_id, k, v.screen, v.t)                   # a reminder has words to say
                if v.screen not in ("paused", "calibrate"):
                    assert v.prompt == v.say, (exercise_id, k, v.screen, v.t)   # … and shows them
        relax_at = {round(v.t, 3) for v in views if v.cue == "relax"}
        assert not relax_at & {round(t, 3) for t in rising}, (exercise_id, k)   # no "relax" mid-movement
        # Reps counted are reps made after Ready and its 3-2-1.
        started = next((v.t for v in views if v.screen in ("move", "hold")), math.inf)
        assert all(r.end_s >= started for r in session.tallies[0].reps), (exercise_id, k)
    assert {"instruct", "move", "hold", "relax", "rest", "paused"} <= seen_states or n < 20, seen_states


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_a_few_random_patients_are_never_left_without_a_cue(library, exercise_id):
    check_patients(library, exercise_id, 3)


@pytest.mark.slow
@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_200_random_patients_an_exercise_are_never_left_without_a_cue(library, exercise_id):
    check_patients(library, exercise_id, 200)


def test_every_shipped_exercise_is_driven():
    from pathlib import Path
    shipped = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "exercises").glob("*.toml"))
    assert shipped == sorted(EXERCISES)
