"""An exercise's phases (pure): instruct → countdown → move → hold → relax → rest, when each ends and
the cue it ends with. `Session` feeds `Phases.step` each frame and goes to the state it names.

The screens guide; the detector counts. Only Ready (then the 3-2-1) starts the reps: a movement on the
instructions is answered with "press Ready". The move phase becomes the hold at HOLD_START of the target;
the hold ends as `pacing.Hold` says; the relax ends when the face is back at rest; after a hold let go
early the rest asks for a longer one.
"""
from __future__ import annotations

from coach.core import screens as views
from coach.core.coaching import Prompter
from coach.core.detector import Detector, OFF_LEVEL
from coach.core.exercises import Exercise
from coach.core.feedback import Cue
from coach.core.moment import COUNTDOWN_S, State
from coach.core.pacing import HOLD_START, LET_GO_RELAX_S, REMIND_S, Hold

Next = tuple[State | None, Cue | None]      # the state to go to (None: stay) and the cue to sound


class Phases:
    """The phases' running state across a session: the 3-2-1's ticks, the hold, the rep of this cycle."""

    def __init__(self) -> None:
        self.ticks = 0              # countdown seconds sounded
        self.hold = Hold()          # the hold's countdown and its let-go rules
        self.cycle_reps = 0         # reps counted when this move phase began
        self.relax_shown = 0.0      # the relax screen shows at least this long
        self.short = False          # the last hold was let go early: say "hold a little longer" in the rest
        self.rep_sounded = False    # this cycle's rep has sounded "rep done"
        self.rep_due = False        # … or would have this frame, had a phase change not taken its turn
        self.reps_from = 0.0        # when this exercise's reps began (after Ready's 3-2-1)
        self.tried_t: float | None = None   # when "press Ready" was last said for a movement on the instructions
        self._last_t = 0.0          # the last step's time (the hold counts down from it)

    def countdown(self) -> Cue:
        """Ready pressed: the 3-2-1 begins (the session goes to "countdown")."""
        self.ticks = 1
        return "countdown"

    def start_reps(self, t: float, reps_done: int, prompter: Prompter | None) -> Cue:
        """The 3-2-1 is over (or skipped): the reps begin (the session goes to "move")."""
        self.reps_from = t
        self.start_move(reps_done, prompter)
        return "start"

    def start_move(self, reps_done: int, prompter: Prompter | None) -> None:
        """A move phase begins, `reps_done` reps counted so far."""
        self.cycle_reps = reps_done
        self.rep_sounded = self.rep_due = False
        if prompter is not None:
            prompter.new_phase()

    def step(self, state: State, t: float, elapsed: float, level: float, det: Detector, exercise: Exercise,
             reps_done: int, prompter: Prompter, *, ready_s: float | None, rep_done: bool) -> Next:
        """One frame of `state`, `elapsed` seconds in, the prime mover at `level` of its target;
        `rep_done`: a rep was counted this frame (its "rep done" sounds unless a phase change's cue does)."""
        dt, self._last_t = t - self._last_t, t
        self.rep_due = rep_done
        if state == "instruct":
            nxt = self._instruct(t, elapsed, det, prompter, ready_s)
        elif state == "countdown":
            nxt = self._countdown(t, elapsed, reps_done, prompter)
        elif state == "move":
            nxt = self._move(level, elapsed, det, exercise)
        elif state == "hold":
            nxt = self._hold(dt, elapsed, det, exercise)
        elif state == "relax":
            nxt = self._relax(level, elapsed, det, exercise, reps_done)
        else:
            nxt = self._rest(t, elapsed, exercise, reps_done, prompter)
        self.rep_sounded = self.rep_sounded or (rep_done and nxt[1] is None)    # "rep done" sounds now
        return nxt

    def _instruct(self, t: float, elapsed: float, det: Detector, prompter: Prompter, ready_s: float | None) -> Next:
        if ready_s is not None and elapsed >= ready_s:
            return "countdown", self.countdown()
        if det.moving and (self.tried_t is None or t - self.tried_t >= REMIND_S):
            # Trying the movement while reading is practice: only Ready (then 3-2-1) starts the reps.
            self.tried_t = t
            prompter.show(t, "ready", views.PRESS_READY)
            return None, "nudge"
        return None, None

    def _countdown(self, t: float, elapsed: float, reps_done: int, prompter: Prompter) -> Next:
        if elapsed >= COUNTDOWN_S:
            return "move", self.start_reps(t, reps_done, prompter)
        if elapsed >= self.ticks:
            self.ticks += 1
            return None, "countdown"
        return None, None

    def _move(self, level: float, elapsed: float, det: Detector, exercise: Exercise) -> Next:
        if level >= HOLD_START or (elapsed >= exercise.move_s and det.in_rep):
            self.hold.start(exercise.hold_s, det.in_rep)
            return "hold", "hold"
        return None, None

    def _hold(self, dt: float, elapsed: float, det: Detector, exercise: Exercise) -> Next:
        end = self.hold.step(dt, holding=det.holding, in_rep=det.in_rep, moving=det.moving, elapsed=elapsed,
                             hold_s=exercise.hold_s)
        if end is None:
            return None, None
        if end == "let_go":
            # Let go before the hold ended (the rep, if one was made, is kept as a short hold): relax and
            # rest as after any hold, and ask for a longer one before the next.
            self.short = self.hold.short
        self.relax_shown = LET_GO_RELAX_S if end == "let_go" else 0.0
        return "relax", "relax"

    def _relax(self, level: float, elapsed: float, det: Detector, exercise: Exercise, reps_done: int) -> Next:
        relaxed = level < OFF_LEVEL and not det.in_rep and elapsed >= self.relax_shown
        if relaxed or elapsed > exercise.relax_s + 4:
            # A rep counted in this cycle that has sounded (or now sounds) "rep done" says "rest"; else "rest".
            counted = reps_done > self.cycle_reps
            return "rest", None if counted and (self.rep_sounded or self.rep_due) else "rest"
        return None, None

    def _rest(self, t: float, elapsed: float, exercise: Exercise, reps_done: int, prompter: Prompter) -> Next:
        if self.short and elapsed > 0:
            self.short = False
            prompter.show(t, "longer", views.HOLD_LONGER)
            return None, "nudge"
        if elapsed >= exercise.rest_s and reps_done < exercise.reps:
            self.start_move(reps_done, prompter)
            return "move", "move"
        return None, None
